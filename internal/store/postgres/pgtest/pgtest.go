// Package pgtest gives tests a fresh PostgreSQL database, created from
// KEYHAVEN_TEST_POSTGRES_URL and dropped when the test ends. Without that
// variable a test fails in CI (CI=true) and skips elsewhere, with one line
// saying how to run it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvVar names the administrative connection the tests use.
const EnvVar = "KEYHAVEN_TEST_POSTGRES_URL"

// Hint is the one line printed when EnvVar is unset.
const Hint = "set " + EnvVar + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests"

// AdminURL returns EnvVar's value, or fails (CI) or skips (elsewhere).
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u != "" {
		return u
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(Hint)
	}
	t.Skip(Hint)
	return ""
}

// Fresh creates an empty database kh_<prefix>_<random> and returns its URL.
// The database is dropped (connections and all) when the test ends, after
// cleanups registered later (servers, pools) have run.
func Fresh(t testing.TB, prefix string) string {
	t.Helper()
	admin := AdminURL(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: not a URL: %v", EnvVar, err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kh_" + prefix + "_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("%s: create database: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

package authentication

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// nodeModels lists every Go type named after a model of authing-node-sdk
// 4.0.1; TestModelsMatchNodeSDK compares each with dist/models/<Name>.d.ts.
var nodeModels = []reflect.Type{
	reflect.TypeFor[SystemInfoResp](),
	reflect.TypeFor[SystmeInfoRSAConfig](),
	reflect.TypeFor[SystmeInfoSM2Config](),
	reflect.TypeFor[SystmeInfoVersion](),
	reflect.TypeFor[CommonResponseDto](),
	reflect.TypeFor[IsSuccessRespDto](),
	reflect.TypeFor[IsSuccessDto](),
	reflect.TypeFor[SendEmailDto](),
	reflect.TypeFor[SendEmailRespDto](),
	reflect.TypeFor[SendSMSDto](),
	reflect.TypeFor[SendSMSRespDto](),
	reflect.TypeFor[VerifyResetPasswordRequestDto](),
	reflect.TypeFor[ResetPasswordByEmailPassCodeDto](),
	reflect.TypeFor[ResetPasswordByPhonePassCodeDto](),
	reflect.TypeFor[PasswordResetVerifyResp](),
	reflect.TypeFor[ResetPasswordVerify](),
	reflect.TypeFor[ResetPasswordDto](),
	reflect.TypeFor[SignUpDto](),
	reflect.TypeFor[SignUpByPasswordDto](),
	reflect.TypeFor[SignUpByPassCodeDto](),
	reflect.TypeFor[SignUpProfileDto](),
	reflect.TypeFor[SignUpOptionsDto](),
	reflect.TypeFor[SigninByCredentialsDto](),
	reflect.TypeFor[SignInByPasswordPayloadDto](),
	reflect.TypeFor[SignInByPassCodePayloadDto](),
	reflect.TypeFor[SignInByAdPayloadDto](),
	reflect.TypeFor[SignInByLdapPayloadDto](),
	reflect.TypeFor[SignInOptionsDto](),
	reflect.TypeFor[LoginTokenRespDto](),
	reflect.TypeFor[LoginTokenResponseDataDto](),
	reflect.TypeFor[UserSingleRespDto](),
	reflect.TypeFor[UserDto](),
	reflect.TypeFor[IdentityDto](),
	reflect.TypeFor[UpdateUserProfileDto](),
	reflect.TypeFor[BindEmailDto](),
	reflect.TypeFor[UnbindEmailDto](),
	reflect.TypeFor[BindPhoneDto](),
	reflect.TypeFor[UnbindPhoneDto](),
	reflect.TypeFor[GetSecurityInfoRespDto](),
	reflect.TypeFor[GetSecurityInfoDto](),
	reflect.TypeFor[UpdatePasswordDto](),
	reflect.TypeFor[VerifyUpdateEmailRequestDto](),
	reflect.TypeFor[UpdateEmailByEmailPassCodeDto](),
	reflect.TypeFor[VerifyUpdateEmailRequestRespDto](),
	reflect.TypeFor[VerifyUpdateEmailRequestData](),
	reflect.TypeFor[UpdateEmailDto](),
	reflect.TypeFor[VerifyUpdatePhoneRequestDto](),
	reflect.TypeFor[UpdatePhoneByPhonePassCodeDto](),
	reflect.TypeFor[VerifyUpdatePhoneRequestRespDto](),
	reflect.TypeFor[VerifyUpdatePhoneRequestData](),
	reflect.TypeFor[UpdatePhoneDto](),
	reflect.TypeFor[VerifyDeleteAccountRequestDto](),
	reflect.TypeFor[DeleteAccountByPhonePassCodeDto](),
	reflect.TypeFor[DeleteAccountByEmailPassCodeDto](),
	reflect.TypeFor[DeleteAccountByPasswordDto](),
	reflect.TypeFor[VerifyDeleteAccountRequestRespDto](),
	reflect.TypeFor[VerifyDeleteAccountRequestDataDto](),
	reflect.TypeFor[DeleteAccounDto](),
}

// keyhavenExtraFields are fields Keyhaven deliberately adds to a Node model.
var keyhavenExtraFields = map[string][]string{
	// The server sends the envelope and, for the Node SDK, the bare fields.
	"SystemInfoResp": {"statusCode", "message", "apiCode", "requestId", "data"},
	// The OAuth 2.0 name next to the Node SDK's expire_in.
	"LoginTokenResponseDataDto": {"expires_in"},
}

// optionalityExceptions are d.ts fields whose omitempty deliberately differs.
var optionalityExceptions = map[string]string{
	// Required `any` in the d.ts, yet the Node SDK leaves it out when
	// undefined; sending "context": null would differ from it on the wire.
	"SignUpOptionsDto.context": "omitted when nil, as the Node SDK omits undefined",
}

// dtsField is one property of an `export declare type X = {...}`.
type dtsField struct {
	name     string
	optional bool
	typ      string
}

// dtsModel is one parsed dist/models/<Name>.d.ts.
type dtsModel struct {
	fields []dtsField
	enums  map[string][]string // enum name inside `namespace Name` -> values
}

var (
	dtsFieldRE    = regexp.MustCompile(`^    ([A-Za-z_$][A-Za-z0-9_$]*)(\??): (.+);$`)
	dtsEnumRE     = regexp.MustCompile(`^    enum ([A-Za-z_$][A-Za-z0-9_$]*) \{$`)
	dtsEnumItemRE = regexp.MustCompile(`^        [A-Za-z0-9_$]+ = "([^"]*)",?$`)
)

// parseDTS reads the d.ts of model name with a line parser: generated
// models put one property per line, four spaces in, between
// `export declare type Name = {` and `};`, and enums in a namespace after it.
func parseDTS(t *testing.T, path, name string) dtsModel {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer f.Close()
	m := dtsModel{enums: map[string][]string{}}
	const (
		outside = iota
		inType
		inNamespace
		inEnum
	)
	state, enum, sawType := outside, "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch state {
		case outside:
			switch line {
			case "export declare type " + name + " = {":
				state, sawType = inType, true
			case "export declare namespace " + name + " {":
				state = inNamespace
			}
		case inType:
			if line == "};" {
				state = outside
			} else if mm := dtsFieldRE.FindStringSubmatch(line); mm != nil {
				m.fields = append(m.fields, dtsField{name: mm[1], optional: mm[2] == "?", typ: mm[3]})
			}
		case inNamespace:
			if line == "}" {
				state = outside
			} else if mm := dtsEnumRE.FindStringSubmatch(line); mm != nil {
				state, enum = inEnum, mm[1]
				m.enums[enum] = nil
			}
		case inEnum:
			if line == "    }" {
				state = inNamespace
			} else if mm := dtsEnumItemRE.FindStringSubmatch(line); mm != nil {
				m.enums[enum] = append(m.enums[enum], mm[1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !sawType {
		t.Fatalf("%s: no `export declare type %s = {` in %s", name, name, path)
	}
	if len(m.fields) == 0 {
		t.Fatalf("%s: parsed no fields from %s; has the d.ts layout changed?", name, path)
	}
	return m
}

// goConstants maps each named type of this package to the string values of
// its declared constants, read from the (non-test) source.
func goConstants(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				id, ok := vs.Type.(*ast.Ident)
				if !ok {
					continue
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						val, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[id.Name] = append(out[id.Name], val)
					}
				}
			}
		}
	}
	return out
}

// jsonField is one exported field of a Go struct as encoding/json sees it.
type jsonField struct {
	goName    string
	typ       reflect.Type
	omitempty bool
}

func jsonFields(t *testing.T, typ reflect.Type) map[string]jsonField {
	t.Helper()
	out := map[string]jsonField{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("json")
		if !ok {
			t.Errorf("%s.%s has no json tag", typ.Name(), f.Name)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s: json tag %q names no wire field", typ.Name(), f.Name, tag)
			continue
		}
		out[name] = jsonField{goName: f.Name, typ: f.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkType reports whether Go type gt can carry d.ts type ts; it returns
// the referenced model and enum names for further checks.
func checkType(gt reflect.Type, ts string) (ok bool, model, enum string) {
	switch {
	case ts == "string":
		return gt.Kind() == reflect.String, "", ""
	case ts == "number":
		switch gt.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
			return true, "", ""
		}
		return false, "", ""
	case ts == "boolean":
		return gt.Kind() == reflect.Bool, "", ""
	case ts == "any":
		return gt.Kind() == reflect.Interface || gt == rawMessageType, "", ""
	case strings.HasPrefix(ts, "Array<") && strings.HasSuffix(ts, ">"):
		if gt.Kind() != reflect.Slice {
			return false, "", ""
		}
		return checkType(gt.Elem(), ts[len("Array<"):len(ts)-1])
	case strings.Contains(ts, "."):
		// Model.enumName: a named string type (not plain string).
		return gt.Kind() == reflect.String && gt.Name() != "string", "", ts
	default:
		if gt.Kind() == reflect.Pointer {
			gt = gt.Elem()
		}
		return gt.Kind() == reflect.Struct && gt.Name() == ts, ts, ""
	}
}

// TestModelsMatchNodeSDK catches drift between the Go models and the Node
// SDK's d.ts: the same wire names, optional exactly when omitempty,
// compatible types, nested models covered too, and every enum value of the
// d.ts available as a constant of the Go field's type.
func TestModelsMatchNodeSDK(t *testing.T) {
	modelsDir := filepath.Join(requireNodeModules(t), "authing-node-sdk", "dist", "models")
	consts := goConstants(t)
	covered := map[string]bool{}
	for _, typ := range nodeModels {
		covered[typ.Name()] = true
	}
	for _, typ := range nodeModels {
		name := typ.Name()
		t.Run(name, func(t *testing.T) {
			dts := parseDTS(t, filepath.Join(modelsDir, name+".d.ts"), name)
			goFields := jsonFields(t, typ)
			extras := keyhavenExtraFields[name]

			want := map[string]bool{}
			for _, f := range dts.fields {
				want[f.name] = true
				if slices.Contains(extras, f.name) {
					t.Errorf("%q is allowlisted as a Keyhaven addition but the d.ts now has it; drop it from keyhavenExtraFields", f.name)
				}
			}
			for _, e := range extras {
				want[e] = true
			}
			for wire := range goFields {
				if !want[wire] {
					t.Errorf("Go field %s (json %q) is not in %s.d.ts", goFields[wire].goName, wire, name)
				}
			}
			for w := range want {
				if _, ok := goFields[w]; !ok {
					t.Errorf("%s.d.ts field %q has no Go field", name, w)
				}
			}

			for _, f := range dts.fields {
				gf, ok := goFields[f.name]
				if !ok {
					continue
				}
				key := name + "." + f.name
				if _, exc := optionalityExceptions[key]; exc {
					if f.optional == gf.omitempty {
						t.Errorf("%s is listed in optionalityExceptions but no longer differs; drop it", key)
					}
				} else if f.optional != gf.omitempty {
					t.Errorf("%s: optional in d.ts = %v but omitempty = %v", key, f.optional, gf.omitempty)
				}
				if gf.omitempty && gf.typ.Kind() == reflect.Struct {
					t.Errorf("%s: omitempty has no effect on a struct value; use a pointer", key)
				}
				ok, model, enum := checkType(gf.typ, f.typ)
				if !ok {
					t.Errorf("%s: Go type %s cannot carry d.ts type %s", key, gf.typ, f.typ)
					continue
				}
				if model != "" && !covered[model] {
					t.Errorf("%s refers to model %s, which is not in nodeModels", key, model)
				}
				if enum != "" {
					owner, enumName, _ := strings.Cut(enum, ".")
					values := dts.enums[enumName]
					if owner != name || values == nil {
						t.Errorf("%s: enum %s not found in %s.d.ts", key, enum, name)
						continue
					}
					et := gf.typ
					for et.Kind() == reflect.Slice || et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					for _, v := range values {
						if !slices.Contains(consts[et.Name()], v) {
							t.Errorf("%s: enum value %q has no constant of type %s", key, v, et.Name())
						}
					}
				}
			}
		})
	}
}

// TestEveryNodeNamedTypeIsChecked makes sure no exported struct named after
// a Node model escapes TestModelsMatchNodeSDK by being left out of nodeModels.
func TestEveryNodeNamedTypeIsChecked(t *testing.T) {
	dir := filepath.Join(requireNodeModules(t), "authing-node-sdk", "dist", "models")
	listed := map[string]bool{}
	for _, typ := range nodeModels {
		listed[typ.Name()] = true
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				if _, isStruct := ts.Type.(*ast.StructType); !isStruct || !ts.Name.IsExported() {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, ts.Name.Name+".d.ts")); err == nil && !listed[ts.Name.Name] {
					t.Errorf("%s (%s) is named after a Node model but is not in nodeModels", ts.Name.Name, fn)
				}
			}
		}
	}
}

// TestParseDTS keeps the line parser honest on a known file, so that a
// layout change cannot make the drift test compare nothing.
func TestParseDTS(t *testing.T) {
	dir := filepath.Join(requireNodeModules(t), "authing-node-sdk", "dist", "models")
	m := parseDTS(t, filepath.Join(dir, "ResetPasswordDto.d.ts"), "ResetPasswordDto")
	want := []dtsField{
		{"password", false, "string"},
		{"passwordResetToken", false, "string"},
		{"passwordEncryptType", true, "ResetPasswordDto.passwordEncryptType"},
	}
	if !reflect.DeepEqual(m.fields, want) {
		t.Errorf("fields = %+v, want %+v", m.fields, want)
	}
	if got := m.enums["passwordEncryptType"]; !reflect.DeepEqual(got, []string{"sm2", "rsa", "none"}) {
		t.Errorf("enum = %q", got)
	}
}

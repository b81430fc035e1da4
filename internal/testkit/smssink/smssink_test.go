package smssink

import "testing"

func TestDecodeChecksExactKeys(t *testing.T) {
	good := `{"phoneNumber":"13800138000","phoneCountryCode":"+86","channel":"CHANNEL_LOGIN","code":"123456","text":"t"}`
	if m, err := decode([]byte(good)); err != nil || m.Code != "123456" || m.PhoneCountryCode != "+86" {
		t.Errorf("good body: %+v, %v", m, err)
	}
	for _, bad := range []string{
		`{"phoneNumber":"1","phoneCountryCode":"+86","channel":"c","code":"1"}`,
		`{"phoneNumber":"1","phoneCountryCode":"+86","channel":"c","code":"1","text":"t","extra":"x"}`,
		`{"PhoneNumber":"1","phoneCountryCode":"+86","channel":"c","code":"1","text":"t"}`,
		`{"phoneNumber":1,"phoneCountryCode":"+86","channel":"c","code":"1","text":"t"}`,
		`[]`,
	} {
		if _, err := decode([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

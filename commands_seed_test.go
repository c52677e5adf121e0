package main

import (
	"bytes"
	"context"
	"etpay-dashboard/testdb"
	"strings"
	"testing"
)

func TestSeedCommand(t *testing.T) {
	live := map[string]string{"ETPAY_API_URL": "https://api.example", "ETPAY_PMT_URL": "https://pmt.example",
		"ETPAY_MERCHANT_CODE": "m", "ETPAY_MERCHANT_API_TOKEN": "t"}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		wantOut string
	}{
		{"sandbox mode seeds", nil, []string{"seed", "--sessions", "50"}, "", "seeded 50 demo links"},
		{"live mode refuses", live, []string{"seed", "--sessions", "50"}, "No se agregan datos de demostración en modo live", ""},
		{"live mode with --force", live, []string{"seed", "--sessions", "50", "--force"}, "", "mode live"},
		{"zero sessions", nil, []string{"seed", "--sessions", "0"}, "--sessions: Indica entre 1 y 10.000.000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := testdb.URL(t, "seed.db")
			var out, errOut bytes.Buffer
			env := environment{storeOptions: testStoreOptions, args: tt.args, stdout: &out, stderr: &errOut, getenv: func(k string) string {
				if k == "DATABASE_URL" {
					return db
				}
				return tt.env[k]
			}}
			err := run(context.Background(), env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}

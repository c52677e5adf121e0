package models

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The shop's settings live in the settings table under these keys.
const (
	settingShopName    = "shop_merchant_name"
	settingShopReplyTo = "shop_reply_to"
)

// AuditShopChanged is the audit action of a change on the Tienda page.
const AuditShopChanged = "shop_changed"

// MaxShopName is the longest shop name, in characters, as for MERCHANT_NAME.
const MaxShopName = 100

// ShopSettings is what an admin says about the shop on its settings page:
// its name as customers know it, and the address their replies to our
// emails go to. Empty means not set.
type ShopSettings struct {
	MerchantName string `json:"merchant_name"`
	ReplyTo      string `json:"reply_to"`
}

// ValidateShopSettings checks the shop's settings as typed (trimmed). The
// name is required, unless it comes from MERCHANT_NAME (nameFixed) and the
// form's is ignored; the reply-to address is optional.
func ValidateShopSettings(in ShopSettings, nameFixed bool) FieldErrors {
	errs := FieldErrors{}
	switch {
	case nameFixed:
	case in.MerchantName == "":
		errs["merchant_name"] = FieldError{Key: "shop.invalid.name_required"}
	case utf8.RuneCountInString(in.MerchantName) > MaxShopName || strings.ContainsFunc(in.MerchantName, unicode.IsControl):
		errs["merchant_name"] = FieldError{Key: "shop.invalid.name", Args: []any{MaxShopName}}
	}
	if in.ReplyTo != "" && !ValidEmail(in.ReplyTo) {
		errs["reply_to"] = FieldError{Key: "invalid.email"}
	}
	return errs
}

// ShopSettings returns the shop's saved settings; nothing saved is empty.
func (s *Store) ShopSettings(ctx context.Context) (ShopSettings, error) {
	var rows []Setting
	err := s.read.WithContext(ctx).Where("key IN ?", []string{settingShopName, settingShopReplyTo}).Find(&rows).Error
	var out ShopSettings
	for _, r := range rows {
		switch r.Key {
		case settingShopName:
			out.MerchantName = r.Value
		case settingShopReplyTo:
			out.ReplyTo = r.Value
		}
	}
	return out, err
}

// SaveShopSettings stores both settings at once.
func (s *Store) SaveShopSettings(ctx context.Context, in ShopSettings) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for key, value := range map[string]string{settingShopName: in.MerchantName, settingShopReplyTo: in.ReplyTo} {
			err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
}

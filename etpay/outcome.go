package etpay

import "strings"

// Outcomes a payment_status tells apart. ETpay documents only "success"
// (StatusSuccess); its other words are not documented. The built-in sandbox
// sends "cancelled" when the customer cancels in the funnel and "rejected"
// when the bank refuses, so those are the words known here; any other is
// OutcomeUnknown, "not paid", and its raw word is what staff should read.
const (
	OutcomePaid      = "paid"
	OutcomeCancelled = "cancelled"
	OutcomeRejected  = "rejected"
	OutcomeUnknown   = "unknown"
)

// Outcome is what a payment_status says happened. Only StatusSuccess, as
// sent, means paid (as the notification rules decide); the words of a
// failure are read without regard to case or spelling (canceled).
func Outcome(paymentStatus string) string {
	if paymentStatus == StatusSuccess {
		return OutcomePaid
	}
	switch strings.ToLower(strings.TrimSpace(paymentStatus)) {
	case "cancelled", "canceled":
		return OutcomeCancelled
	case "rejected":
		return OutcomeRejected
	}
	return OutcomeUnknown
}

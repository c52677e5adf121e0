package etpay

import "testing"

func TestOutcome(t *testing.T) {
	for status, want := range map[string]string{
		"success":   OutcomePaid,
		"cancelled": OutcomeCancelled,
		"Canceled":  OutcomeCancelled,
		"rejected":  OutcomeRejected,
		" REJECTED": OutcomeRejected,
		"SUCCESS":   OutcomeUnknown, // not what the rules take as paid: no word of ours says otherwise
		"expired":   OutcomeUnknown,
		"":          OutcomeUnknown,
	} {
		if got := Outcome(status); got != want {
			t.Errorf("Outcome(%q) = %q, want %q", status, got, want)
		}
	}
}

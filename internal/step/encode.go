package step

import (
	"encoding/json"
	"fmt"
)

// checkEncodable fails permanently when v cannot be stored as JSON, which
// expressions can produce, e.g. 1/0 is +Inf.
func checkEncodable(v any, what string) error {
	if _, err := json.Marshal(v); err != nil {
		return Permanent(fmt.Errorf("%s is not JSON-encodable: %w", what, err))
	}
	return nil
}

package step

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// MaxOutputBytes caps what one step attempt may store: its output and its
// log lines, as JSON. A larger result fails the step permanently before
// anything of it is encoded or stored; large data belongs in an artifact.
const MaxOutputBytes = 1 << 20

// errTooLarge is returned by encodedSize when the value passes its limit.
var errTooLarge = errors.New("value is too large")

// encodedSize returns about how many bytes v takes as compact JSON, and
// errTooLarge as soon as the count passes limit: a list holding the same
// large string a million times costs a walk of at most limit bytes, never
// its encoding. Values JSON cannot hold (NaN, infinities, functions, maps
// with keys that are not strings or integers) are errors, as json.Marshal
// reports them. Escapes are not counted, so the encoding may be somewhat
// longer; callers that store it check its length again. With indent, the
// count includes the newlines and two-space indentation of
// json.MarshalIndent(v, "", "  ").
func encodedSize(v any, limit int64, indent bool) (int64, error) {
	s := sizer{limit: limit, indent: indent}
	err := s.walk(v, 0)
	return s.n, err
}

type sizer struct {
	n      int64
	limit  int64
	indent bool
}

// add counts n bytes and fails once the limit is passed.
func (s *sizer) add(n int64) error {
	s.n += n
	if s.n > s.limit {
		return errTooLarge
	}
	return nil
}

// item counts an element's separator and, indented, its line and indent.
func (s *sizer) item(depth int) error {
	if s.indent {
		return s.add(int64(2 + 2*depth))
	}
	return s.add(1)
}

func (s *sizer) walk(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		return s.add(4)
	case bool:
		return s.add(5)
	case string:
		return s.add(int64(len(v)) + 2)
	case []byte:
		return s.add(int64(len(v))*4/3 + 4)
	case json.Number:
		return s.add(int64(len(v)))
	case float64:
		return s.float(v)
	case float32:
		return s.float(float64(v))
	case int:
		return s.add(int64(len(strconv.Itoa(v))))
	case int64:
		return s.add(int64(len(strconv.FormatInt(v, 10))))
	case time.Time:
		return s.add(37)
	case time.Duration:
		return s.add(int64(len(strconv.FormatInt(int64(v), 10))))
	case map[string]any:
		if err := s.add(2); err != nil {
			return err
		}
		for k, e := range v {
			if err := s.entry(k, depth); err != nil {
				return err
			}
			if err := s.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if err := s.add(2); err != nil {
			return err
		}
		for _, e := range v {
			if err := s.item(depth); err != nil {
				return err
			}
			if err := s.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return s.reflected(reflect.ValueOf(v), depth)
}

// entry counts a map key with its quotes and colon.
func (s *sizer) entry(key string, depth int) error {
	if err := s.item(depth); err != nil {
		return err
	}
	return s.add(int64(len(key)) + 4)
}

func (s *sizer) float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	return s.add(int64(len(strconv.FormatFloat(f, 'g', -1, 64))))
}

// reflected handles the other shapes expressions produce: typed lists
// ([]int from a range, []string from split), typed maps, and small values
// such as uints, which json.Marshal measures.
func (s *sizer) reflected(rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if err := s.add(2); err != nil {
			return err
		}
		for i := range rv.Len() {
			if err := s.item(depth); err != nil {
				return err
			}
			if err := s.walk(rv.Index(i).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		switch rv.Type().Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			return fmt.Errorf("json: unsupported type: %s", rv.Type())
		}
		if err := s.add(2); err != nil {
			return err
		}
		it := rv.MapRange()
		for it.Next() {
			if err := s.entry(fmt.Sprint(it.Key().Interface()), depth); err != nil {
				return err
			}
			if err := s.walk(it.Value().Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return s.add(4)
		}
		return s.walk(rv.Elem().Interface(), depth)
	case reflect.Func, reflect.Chan, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return fmt.Errorf("json: unsupported type: %s", rv.Type())
	}
	// A scalar of some other type (a uint, a named string): small.
	b, err := json.Marshal(rv.Interface())
	if err != nil {
		return err
	}
	return s.add(int64(len(b)))
}

// CheckEncodable fails permanently when v cannot be stored as JSON, which
// expressions can produce (1/0 is +Inf), or when its JSON would pass limit
// (MaxOutputBytes: v is, or is part of, what the step stores).
func CheckEncodable(v any, what string, limit int64) error {
	n, err := encodedSize(v, limit, false)
	if errors.Is(err, errTooLarge) {
		return Permanent(fmt.Errorf("%s takes more than %s, the most a step may store (at least %d bytes as JSON); keep large data in an artifact",
			what, sizeText(limit), n))
	}
	if err != nil {
		return Permanent(fmt.Errorf("%s is not JSON-encodable: %w", what, err))
	}
	return nil
}

// CheckResult fails permanently when a step's output and log lines
// together would take more than MaxOutputBytes as JSON, or cannot be
// encoded. The worker calls it before it redacts, encodes or stores
// anything of the result, so an oversized result costs a walk of at most
// MaxOutputBytes.
func CheckResult(res Result) error {
	s := sizer{limit: MaxOutputBytes}
	err := s.walk(res.Output, 0)
	for i := 0; err == nil && i < len(res.Logs); i++ {
		l := res.Logs[i]
		err = s.walk(map[string]any{"time": l.Time, "level": l.Level, "message": l.Message, "fields": l.Fields}, 0)
	}
	if errors.Is(err, errTooLarge) {
		return Permanent(fmt.Errorf("the step's output and log lines take more than %s, the most a step may store (at least %d bytes as JSON); keep large data in an artifact",
			sizeText(MaxOutputBytes), s.n))
	}
	if err != nil {
		return Permanent(fmt.Errorf("the step's output is not JSON-encodable: %w", err))
	}
	return nil
}

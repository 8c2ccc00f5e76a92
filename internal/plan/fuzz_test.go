package plan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

// FuzzLoad feeds Load arbitrary documents: it never panics, refuses with a
// validation error, and whatever it accepts is a consistent catalogue that
// reloads unchanged. Minimizing a large interesting input can take Load a
// while; run with -fuzzminimizetime=200x to keep the workers fuzzing.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "plans.example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(everyProblem))
	f.Add(document(f, Default()))
	f.Add([]byte(`{"default":"a","plans":[{"name":"a","limits":{}}]}`))
	f.Add([]byte("default: a\nplans:\n  - &p {name: a}\n  - *p\n"))
	f.Add([]byte("plans: [1e400, -0, 0x10, .nan, ~]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Load(b)
		if err != nil {
			if c != nil {
				t.Fatal("a catalogue returned with an error")
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v is not a validation error", err)
			}
			return
		}
		plans := c.All()
		if len(plans) == 0 {
			t.Fatal("a catalogue without plans")
		}
		def := c.Default()
		if p, ok := c.Get(def.Name); !ok || !cmp.Equal(p, def) {
			t.Fatalf("default plan %q is not in the catalogue", def.Name)
		}
		for _, p := range plans {
			if q, ok := c.Get(p.Name); !ok || !cmp.Equal(p, q) {
				t.Fatalf("Get(%q) disagrees with All()", p.Name)
			}
			for _, id := range p.StripePriceIDs {
				if q, ok := c.ForPrice(id); !ok || q.Name != p.Name {
					t.Fatalf("ForPrice(%q) = %q, want %q", id, q.Name, p.Name)
				}
			}
		}
		// What loads, reloads unchanged from its JSON form.
		again, err := Load(document(t, c))
		if err != nil {
			t.Fatalf("reloading a valid catalogue: %v", err)
		}
		if diff := cmp.Diff(plans, again.All()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

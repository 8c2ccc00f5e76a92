package config_test

import (
	"os"
	"strings"
	"testing"

	"aias/internal/config"
)

// docs/configuration.md embeds the --help text; a variable added without
// updating it fails here.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(config.Help(), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.Contains(string(doc), line) {
			t.Errorf("docs/configuration.md lacks the help line %q (paste the output of 'aias help')", line)
		}
	}
}

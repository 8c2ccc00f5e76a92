package main

import "testing"

func TestUnifiedDiffShowsChangedLinesWithContext(t *testing.T) {
	t.Parallel()
	a := "name: w\nsteps:\n- name: a\n  type: log\n- name: b\n  type: log\n"
	b := "name: w\nsteps:\n- name: a\n  type: transform\n- name: b\n  type: log\n- name: c\n  type: log\n"
	got := unifiedDiff("stored", "file", a, b)
	want := `--- stored
+++ file
@@ -1,6 +1,8 @@
 name: w
 steps:
 - name: a
-  type: log
+  type: transform
 - name: b
   type: log
+- name: c
+  type: log
`
	if got != want {
		t.Errorf("unifiedDiff =\n%s\nwant\n%s", got, want)
	}
	if d := unifiedDiff("a", "b", a, a); d != "" {
		t.Errorf("diff of equal texts = %q, want empty", d)
	}
	if d := unifiedDiff("a", "b", "", "x: 1\n"); d != "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x: 1\n" {
		t.Errorf("diff against nothing = %q", d)
	}
}

func TestUnifiedDiffSplitsDistantChangesIntoHunks(t *testing.T) {
	t.Parallel()
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	b := "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\nELEVEN\n12\n"
	want := "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+ELEVEN\n 12\n"
	if got := unifiedDiff("a", "b", a, b); got != want {
		t.Errorf("unifiedDiff =\n%s\nwant\n%s", got, want)
	}
}

package config_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"sigs.k8s.io/yaml"

	"aias/internal/config"
	"aias/internal/safehttp"
)

// composeNetwork is what the egress test reads of docker-compose.yml.
type composeNetwork struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		Command     []string          `json:"command"`
		Environment map[string]string `json:"environment"`
		Networks    map[string]struct {
			IPv4Address string `json:"ipv4_address"`
		} `json:"networks"`
	} `json:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet  string `json:"subnet"`
				IPRange string `json:"ip_range"`
			} `json:"config"`
		} `json:"ipam"`
	} `json:"networks"`
}

// An http step on the compose network reaches the ingress's public port
// (the demo workflow calls it) and nothing else: not Postgres, not Redis,
// not an ops listener with the dashboard on it.
func TestComposeWorkersReachOnlyTheIngressPublicPort(t *testing.T) {
	t.Parallel()
	var f composeNetwork
	readManifest(t, "../../docker-compose.yml", &f)
	worker, ingress := f.Services["worker"], f.Services["ingress"]
	allow, err := safehttp.ParseAllow(worker.Environment["AIAS_EGRESS_ALLOW"])
	if err != nil || len(allow) == 0 {
		t.Fatalf("worker AIAS_EGRESS_ALLOW = %q (%v), want the ingress's address", worker.Environment["AIAS_EGRESS_ALLOW"], err)
	}
	ports, err := safehttp.ParsePorts(worker.Environment["AIAS_EGRESS_ALLOW_PORTS"])
	if err != nil || ports == nil {
		t.Fatalf("worker AIAS_EGRESS_ALLOW_PORTS = %q (%v), want a list of ports", worker.Environment["AIAS_EGRESS_ALLOW_PORTS"], err)
	}
	fixed := map[netip.Addr]string{} // the only addresses known before the containers start
	for name, s := range f.Services {
		for _, n := range s.Networks {
			if a, err := netip.ParseAddr(n.IPv4Address); err == nil {
				fixed[a] = name
			}
		}
	}
	for _, p := range allow {
		if !p.IsSingleIP() || fixed[p.Addr()] != "ingress" {
			t.Errorf("the workers' egress allow-list holds %s: want the ingress's fixed address alone (a wider prefix holds Postgres and Redis)", p)
		}
	}
	if want := portOf(t, ingress.Environment["AIAS_HTTP_ADDR"]); !slices.Equal(ports, []uint16{want}) {
		t.Errorf("the workers may reach ports %v of the ingress, want only its public port %d", ports, want)
	}
	for _, n := range f.Networks {
		for _, c := range n.IPAM.Config {
			r, err := netip.ParsePrefix(c.IPRange)
			if err != nil {
				t.Errorf("network %s has no ip_range: a container may be given the ingress's fixed address first", c.Subnet)
				continue
			}
			for a, name := range fixed {
				if r.Contains(a) {
					t.Errorf("%s's fixed address %s is inside ip_range %s, where other containers get theirs", name, a, r)
				}
			}
		}
	}
}

// No Kubernetes Service sends traffic to an ops listener: metrics,
// readiness and the dashboard are for operators, not for whatever reaches
// the Service.
func TestNoKubernetesServiceExposesAnOpsListener(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ops := strconv.Itoa(int(portOf(t, defaultMetricsAddr(t))))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var svc struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Spec struct {
					Ports []struct {
						Port       int `json:"port"`
						TargetPort any `json:"targetPort"`
					} `json:"ports"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(part), &svc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if svc.Kind != "Service" {
				continue
			}
			for _, p := range svc.Spec.Ports {
				if target := toString(p.TargetPort); target == "ops" || target == ops || strconv.Itoa(p.Port) == ops {
					t.Errorf("%s: Service %s exposes the ops listener (port %d -> %v)", filepath.Base(file), svc.Metadata.Name, p.Port, p.TargetPort)
				}
			}
		}
	}
}

func defaultMetricsAddr(t *testing.T) string {
	t.Helper()
	c, err := config.Load(getenv(valid()), config.RoleWorker)
	if err != nil {
		t.Fatal(err)
	}
	return c.MetricsAddr
}

func portOf(t *testing.T, addr string) uint16 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return uint16(p)
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.Itoa(int(x))
	}
	return ""
}

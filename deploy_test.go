package main

// Offline checks of the Kubernetes manifests in deploy/kubernetes: they parse,
// they run leasebot the way it must run with several replicas, every secret
// comes from the Secret, and no file under deploy/ holds a secret value.
// Each check names, in a comment, a mistake it catches; the mutation was tried.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/leasebot/leasebot/bot/config"
)

const kubeDir = "deploy/kubernetes"

// kubeSecretEnv are the variables leasebot reads as secrets that the
// Deployment must pass; each must come from a secretKeyRef.
var kubeSecretEnv = []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "MODELARTS_AK", "MODELARTS_SK", "LEASEBOT_DATABASE_URL"}

// kubeCredentialEnv are the other credential variables leasebot reads: they
// need not be there, but where they are, they come from the Secret too.
var kubeCredentialEnv = []string{"MODELARTS_SECURITY_TOKEN", "MODELARTS_USERNAME", "MODELARTS_PASSWORD", "MODELARTS_DOMAIN"}

// slackSocketModeLimit is the most Socket Mode connections Slack allows an app.
const slackSocketModeLimit = 10

// shutdownDrain is how long leasebot finishes in-flight work after SIGTERM.
const shutdownDrain = 25

type kustomization struct {
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

type kubeMeta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []yaml.Node       `yaml:"matchExpressions"`
}

type httpProbe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type kubeSecurityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name     string `yaml:"name"`
			Key      string `yaml:"key"`
			Optional *bool  `yaml:"optional"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type kubeContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env          []envVar `yaml:"env"`
	EnvFrom      []any    `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	StartupProbe   *httpProbe `yaml:"startupProbe"`
	ReadinessProbe *httpProbe `yaml:"readinessProbe"`
	LivenessProbe  *httpProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext kubeSecurityContext `yaml:"securityContext"`
}

type kubeObject struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   kubeMeta          `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	Spec       struct {
		// Deployment
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       yaml.Node `yaml:"maxSurge"`
				MaxUnavailable yaml.Node `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata kubeMeta `yaml:"metadata"`
			Spec     struct {
				TerminationGracePeriodSeconds *int                `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               kubeSecurityContext `yaml:"securityContext"`
				Containers                    []kubeContainer     `yaml:"containers"`
				InitContainers                []kubeContainer     `yaml:"initContainers"`
				Affinity                      *struct {
					PodAntiAffinity any `yaml:"podAntiAffinity"`
				} `yaml:"affinity"`
				TopologySpreadConstraints []struct {
					TopologyKey   string        `yaml:"topologyKey"`
					LabelSelector labelSelector `yaml:"labelSelector"`
				} `yaml:"topologySpreadConstraints"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name  string `yaml:"name"`
						Items []struct {
							Key  string `yaml:"key"`
							Path string `yaml:"path"`
						} `yaml:"items"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		// PodDisruptionBudget
		MinAvailable   yaml.Node `yaml:"minAvailable"`
		MaxUnavailable yaml.Node `yaml:"maxUnavailable"`
	} `yaml:"spec"`
	file string
}

// kubeManifests is what the tests read: the kustomization and every object
// of every file it lists.
type kubeManifests struct {
	kust    kustomization
	objects []*kubeObject
}

// decodeAll decodes every YAML document in data; an empty document (only
// comments) is skipped.
func decodeAll[T any](data []byte) ([]*T, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*T
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue
		}
		v := new(T)
		if err := n.Decode(v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func readKubeManifests(t *testing.T) *kubeManifests {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kubeDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &kubeManifests{}
	if err := yaml.Unmarshal(data, &m.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, r := range m.kust.Resources {
		data, err := os.ReadFile(filepath.Join(kubeDir, filepath.FromSlash(r)))
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", r, err)
		}
		objs, err := decodeAll[kubeObject](data)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, o := range objs {
			o.file = r
			m.objects = append(m.objects, o)
		}
	}
	return m
}

// one returns the single object of the given kind, failing if there is not
// exactly one.
func (m *kubeManifests) one(t *testing.T, kind string) *kubeObject {
	t.Helper()
	var found []*kubeObject
	for _, o := range m.objects {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in the kustomization's resources, found %d", kind, len(found))
	}
	return found[0]
}

func (m *kubeManifests) container(t *testing.T) (*kubeObject, *kubeContainer) {
	t.Helper()
	d := m.one(t, "Deployment")
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "leasebot" {
			return d, &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("the Deployment has no container named leasebot")
	return nil, nil
}

// intOrString reads an IntOrString node: the number, or -1 and the string.
func intOrString(n yaml.Node) (int, string) {
	if n.Kind != yaml.ScalarNode {
		return -1, ""
	}
	if i, err := strconv.Atoi(n.Value); err == nil && n.Tag == "!!int" {
		return i, ""
	}
	return -1, n.Value
}

// TestKubernetesResourcesParse catches: a resource listed in
// kustomization.yaml that does not exist (renamed file), a file that is not
// valid YAML (bad indentation), an object without kind or name, a YAML file
// in the directory that kustomization.yaml forgot to list, and a Secret (or
// secret.example.yaml) among the resources, which would put a Secret in git.
func TestKubernetesResourcesParse(t *testing.T) {
	m := readKubeManifests(t)
	if len(m.kust.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	if m.kust.Namespace == "" {
		t.Error("kustomization.yaml sets no namespace")
	}
	for _, o := range m.objects {
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("%s: an object without apiVersion, kind or metadata.name", o.file)
		}
		if o.Kind == "Secret" {
			t.Errorf("%s: a Secret is among the resources; secrets are created by hand, never from the repository", o.file)
		}
	}
	for _, kind := range []string{"Deployment", "ConfigMap", "PodDisruptionBudget"} {
		m.one(t, kind)
	}
	files, err := filepath.Glob(filepath.Join(kubeDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		switch {
		case base == "kustomization.yaml":
		case strings.Contains(base, ".example."):
			if slices.Contains(m.kust.Resources, base) {
				t.Errorf("kustomization.yaml lists %s: an example must never be applied", base)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll[kubeObject](data)
			if err != nil {
				t.Errorf("%s: %v", base, err)
			}
			if len(objs) != 0 {
				t.Errorf("%s holds %d objects; keep it comments only, so that `kubectl apply -f` on the directory cannot apply placeholders", base, len(objs))
			}
		case !slices.Contains(m.kust.Resources, base):
			t.Errorf("%s is not listed in kustomization.yaml's resources", base)
		}
	}
}

// TestKubernetesDeployment catches: replicas set to 1 (or above Slack's
// connection limit), an image that kustomization.yaml's images: no longer
// rewrites, args without run or -listen, a probe on another path or port than
// -listen serves, a liveness probe as quick to restart as readiness,
// resources without requests, a pod allowed to run as root or to write its
// root file system, a grace period shorter than leasebot's drain, a
// RollingUpdate that may take more than one replica down, -config pointing
// outside the ConfigMap's mount, and replicas not spread over nodes.
func TestKubernetesDeployment(t *testing.T) {
	m := readKubeManifests(t)
	d, c := m.container(t)
	spec := d.Spec

	if spec.Replicas == nil || *spec.Replicas < 2 {
		t.Errorf("replicas: want at least 2 for failover, got %s", fmtPtr(spec.Replicas))
	}
	surge, _ := intOrString(spec.Strategy.RollingUpdate.MaxSurge)
	surge = max(surge, 0)
	if spec.Replicas != nil && *spec.Replicas+surge > slackSocketModeLimit {
		t.Errorf("replicas %d + maxSurge %d exceeds Slack's %d Socket Mode connections per app", *spec.Replicas, surge, slackSocketModeLimit)
	}

	// The image is the one kustomization.yaml rewrites, and that entry says
	// what to rewrite it to.
	var imageSet bool
	for _, im := range m.kust.Images {
		if im.Name == c.Image {
			imageSet = im.NewName != "" && (im.NewTag != "" || im.Digest != "")
		}
	}
	if !imageSet {
		t.Errorf("the container's image %q is not an images: entry with newName and newTag (or digest) in kustomization.yaml", c.Image)
	}
	if len(c.Command) != 0 {
		t.Errorf("command %q overrides the image's entrypoint, the leasebot binary", c.Command)
	}

	// run -listen ADDR, and the port it serves is the probes' port.
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Errorf("args %q: want the run sub-command first", c.Args)
	}
	listenPort := 0
	if i := slices.Index(c.Args, "-listen"); i >= 0 && i+1 < len(c.Args) {
		_, p, _ := strings.Cut(c.Args[i+1], ":")
		listenPort, _ = strconv.Atoi(p)
	}
	if listenPort == 0 {
		t.Fatalf("args %q: want -listen :PORT (or HOST:PORT) for /healthz and /metrics", c.Args)
	}
	if h, _, _ := strings.Cut(c.Args[slices.Index(c.Args, "-listen")+1], ":"); h == "127.0.0.1" || h == "localhost" {
		t.Errorf("-listen on %s: the kubelet's probes come to the pod's IP", h)
	}
	portByName := map[string]int{}
	for _, p := range c.Ports {
		portByName[p.Name] = p.ContainerPort
	}
	if portByName["admin"] != listenPort {
		t.Errorf("want a container port named admin on %d, the -listen port; ports: %v", listenPort, portByName)
	}
	if p := spec.Template.Metadata.Annotations["prometheus.io/port"]; p != "" && p != strconv.Itoa(listenPort) {
		t.Errorf("prometheus.io/port %s differs from the -listen port %d", p, listenPort)
	}
	probes := map[string]*httpProbe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe}
	if c.StartupProbe != nil {
		probes["startupProbe"] = c.StartupProbe
	}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", name)
			continue
		}
		if p.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: path %q, want /healthz", name, p.HTTPGet.Path)
		}
		port, pname := intOrString(p.HTTPGet.Port)
		if pname != "" {
			port = portByName[pname]
		}
		if port != listenPort {
			t.Errorf("%s: port %s is not the -listen port %d", name, p.HTTPGet.Port.Value, listenPort)
		}
	}
	// Liveness tolerates a longer outage than readiness, so that a short
	// ModelArts or database outage (which also fails /healthz) restarts
	// nothing: a longer period, more failures, and at least 2 minutes in all.
	// (Kubernetes' defaults are a 10 s period and 3 failures.)
	if r, l := c.ReadinessProbe, c.LivenessProbe; r != nil && l != nil {
		rp, rf := cmp0(r.PeriodSeconds, 10), cmp0(r.FailureThreshold, 3)
		lp, lf := cmp0(l.PeriodSeconds, 10), cmp0(l.FailureThreshold, 3)
		if lp <= rp || lf <= rf || lp*lf < 120 {
			t.Errorf("liveness (every %ds, %d failures: %ds) must be more tolerant than readiness (every %ds, %d failures), with a longer period, more failures and at least 120s in all", lp, lf, lp*lf, rp, rf)
		}
	}

	for _, res := range []string{"cpu", "memory"} {
		if c.Resources.Requests[res] == "" {
			t.Errorf("resources.requests.%s is not set", res)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		t.Error("resources.limits.memory is not set")
	}

	pod, ctr := spec.Template.Spec.SecurityContext, c.SecurityContext
	nonRoot := ctr.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = pod.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot || pod.RunAsNonRoot != nil && !*pod.RunAsNonRoot {
		t.Error("runAsNonRoot is not true (in the container, and not false for the pod)")
	}
	uid := ctr.RunAsUser
	if uid == nil {
		uid = pod.RunAsUser
	}
	// The image's USER is a name (nonroot); the kubelet refuses to start a
	// runAsNonRoot pod whose user it cannot check as a number.
	if uid == nil || *uid == 0 {
		t.Error("runAsUser: want the image's non-root UID as a number")
	}
	if ctr.ReadOnlyRootFilesystem == nil || !*ctr.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if ctr.AllowPrivilegeEscalation == nil || *ctr.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if !slices.Contains(ctr.Capabilities.Drop, "ALL") {
		t.Errorf("capabilities.drop %q: want ALL", ctr.Capabilities.Drop)
	}
	if ctr.SeccompProfile.Type != "RuntimeDefault" && pod.SeccompProfile.Type != "RuntimeDefault" {
		t.Error("seccompProfile RuntimeDefault is not set")
	}

	if g := spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= shutdownDrain {
		t.Errorf("terminationGracePeriodSeconds must exceed leasebot's %ds drain, got %s", shutdownDrain, fmtPtr(g))
	}

	if spec.Strategy.Type != "" && spec.Strategy.Type != "RollingUpdate" {
		t.Errorf("strategy %s: want RollingUpdate (Recreate stops every replica at once)", spec.Strategy.Type)
	}
	if mu, s := intOrString(spec.Strategy.RollingUpdate.MaxUnavailable); s != "" || mu < 0 || mu > 1 {
		t.Errorf("strategy.rollingUpdate.maxUnavailable %q: want 0 or 1, written as a number", spec.Strategy.RollingUpdate.MaxUnavailable.Value)
	}

	// -config names the file the ConfigMap is mounted as.
	cm := m.one(t, "ConfigMap")
	cfgPath := "/etc/leasebot/leasebot.yml" // the image's LEASEBOT_CONFIG
	if i := slices.Index(c.Args, "-config"); i >= 0 && i+1 < len(c.Args) {
		cfgPath = c.Args[i+1]
	}
	var mounted bool
	for _, v := range spec.Template.Spec.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != cm.Metadata.Name {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name != v.Name || vm.SubPath != "" {
				continue
			}
			file := "leasebot.yml" // a ConfigMap volume without items: one file per key
			for _, it := range v.ConfigMap.Items {
				if it.Key == "leasebot.yml" {
					file = it.Path
				}
			}
			mounted = mounted || path.Join(vm.MountPath, file) == cfgPath
		}
	}
	if !mounted {
		t.Errorf("the config %s is not the ConfigMap %s's leasebot.yml as mounted in the container", cfgPath, cm.Metadata.Name)
	}

	// Spread over nodes, by anti-affinity or a topology spread on hostname.
	spread := spec.Template.Spec.Affinity != nil && spec.Template.Spec.Affinity.PodAntiAffinity != nil
	for _, tsc := range spec.Template.Spec.TopologySpreadConstraints {
		spread = spread || tsc.TopologyKey == "kubernetes.io/hostname" && selects(tsc.LabelSelector, spec.Template.Metadata.Labels)
	}
	if !spread {
		t.Error("replicas are not spread over nodes (no pod anti-affinity or topology spread on kubernetes.io/hostname selecting the pods)")
	}
	if !selects(spec.Selector, spec.Template.Metadata.Labels) {
		t.Errorf("the Deployment's selector %v does not select its own pods %v", spec.Selector.MatchLabels, spec.Template.Metadata.Labels)
	}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// selects reports whether a matchLabels-only selector selects pods with the
// given labels.
func selects(sel labelSelector, labels map[string]string) bool {
	if len(sel.MatchLabels) == 0 || len(sel.MatchExpressions) != 0 {
		return false
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetesSecretsFromSecret catches: a secret variable dropped from
// the Deployment, one given as a literal value:, a required one marked
// optional, secretKeyRefs into two different Secrets, envFrom (which would
// hide which keys are needed), and a README that does not name the Secret or
// one of its keys.
func TestKubernetesSecretsFromSecret(t *testing.T) {
	m := readKubeManifests(t)
	_, c := m.container(t)
	if len(c.EnvFrom) != 0 {
		t.Error("envFrom: name each variable with its own secretKeyRef, so that the needed keys are visible")
	}
	byName := map[string]envVar{}
	secretNames := map[string]bool{}
	var keys []string
	for _, e := range c.Env {
		if _, dup := byName[e.Name]; dup {
			t.Errorf("env %s is set twice", e.Name)
		}
		byName[e.Name] = e
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretNames[e.ValueFrom.SecretKeyRef.Name] = true
			keys = append(keys, e.ValueFrom.SecretKeyRef.Key)
		}
	}
	for _, name := range slices.Concat(kubeSecretEnv, kubeCredentialEnv) {
		e, ok := byName[name]
		required := slices.Contains(kubeSecretEnv, name)
		switch {
		case !ok && required:
			t.Errorf("env %s is missing", name)
		case !ok:
		case e.Value != nil:
			t.Errorf("env %s has a literal value; a secret comes only from a secretKeyRef", name)
		case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
			t.Errorf("env %s does not come from a secretKeyRef", name)
		case required && e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional:
			t.Errorf("env %s is optional; leasebot needs it, so a missing key must stop the pod from starting", name)
		}
	}
	if len(secretNames) != 1 {
		t.Fatalf("secretKeyRefs name %d Secrets, want exactly one: %v", len(secretNames), secretNames)
	}
	readme, err := os.ReadFile(filepath.Join(kubeDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(kubeDir, "secret.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range secretNames {
		if !strings.Contains(string(readme), "Secret named `"+name+"`") {
			t.Errorf("README.md does not say \"Secret named `%s`\"", name)
		}
		if !strings.Contains(string(example), "name: "+name) {
			t.Errorf("secret.example.yaml does not show a Secret named %s", name)
		}
	}
	for _, k := range keys {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not name the Secret's key `%s`", k)
		}
		if !regexp.MustCompile(`(?m)\b` + regexp.QuoteMeta(k) + `:`).Match(example) {
			t.Errorf("secret.example.yaml does not show the key %s", k)
		}
	}
}

// TestKubernetesConfigMapLoads catches: a config the bot would refuse at
// start (an unknown key, a bad duration, a project ID not 32 lower-case hex
// characters, a secret-looking key), and a ConfigMap without leasebot.yml.
func TestKubernetesConfigMapLoads(t *testing.T) {
	m := readKubeManifests(t)
	cm := m.one(t, "ConfigMap")
	data, ok := cm.Data["leasebot.yml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no leasebot.yml", cm.Metadata.Name)
	}
	cfg, err := config.Parse([]byte(data), cm.file+" leasebot.yml")
	if err != nil {
		t.Fatalf("the ConfigMap's leasebot.yml does not load:\n%v", err)
	}
	if !strings.HasPrefix(cfg.ModelArts.Endpoint, "https://") {
		t.Errorf("endpoint %q: want https:// in a deployment", cfg.ModelArts.Endpoint)
	}
}

// TestKubernetesPDB catches: a PDB whose selector no longer matches the
// pods (a renamed label), one that allows every replica down at once, and
// one that allows none (a drain would hang for ever).
func TestKubernetesPDB(t *testing.T) {
	m := readKubeManifests(t)
	d := m.one(t, "Deployment")
	pdb := m.one(t, "PodDisruptionBudget")
	if !selects(pdb.Spec.Selector, d.Spec.Template.Metadata.Labels) {
		t.Errorf("the PDB's selector %v does not select the Deployment's pods %v", pdb.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
	}
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	minAv, minS := intOrString(pdb.Spec.MinAvailable)
	maxUn, maxS := intOrString(pdb.Spec.MaxUnavailable)
	switch {
	case minS != "" || maxS != "":
		t.Errorf("write the PDB's budget as a number, not a percentage (%q%q)", minS, maxS)
	case pdb.Spec.MaxUnavailable.Kind != 0 && pdb.Spec.MinAvailable.Kind != 0:
		t.Error("the PDB sets both minAvailable and maxUnavailable")
	case pdb.Spec.MaxUnavailable.Kind != 0:
		if maxUn < 1 || replicas-maxUn < 2 {
			t.Errorf("maxUnavailable %d of %d replicas: want at least 2 kept and at least 1 evictable", maxUn, replicas)
		}
	case pdb.Spec.MinAvailable.Kind != 0:
		if minAv < 2 || minAv >= replicas {
			t.Errorf("minAvailable %d of %d replicas: want at least 2 kept and at least 1 evictable", minAv, replicas)
		}
	default:
		t.Error("the PDB sets neither minAvailable nor maxUnavailable")
	}
}

// placeholders are the documented fake values; anything else after a token
// prefix or as a URL password is treated as a real secret.
var placeholders = []string{"REPLACE-ME", "PASSWORD"}

var (
	slackTokenRe = regexp.MustCompile(`\b(xox[a-z]|xapp)-([A-Za-z0-9-]*)`)
	pgPasswordRe = regexp.MustCompile(`postgres(?:ql)?://[^\s:/@'"]+:([^\s@'"]*)@`)
	keyRunRe     = regexp.MustCompile(`[A-Za-z0-9+/=_]{20,}`)
	pemRe        = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
)

// secretsIn returns a description of each secret-looking value in text.
func secretsIn(text string) []string {
	var found []string
	for _, mt := range slackTokenRe.FindAllStringSubmatch(text, -1) {
		if mt[2] != "" && !slices.Contains(placeholders, mt[2]) {
			found = append(found, "a Slack token "+mt[1]+"-…")
		}
	}
	for _, mt := range pgPasswordRe.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(placeholders, mt[1]) {
			found = append(found, "a database URL with a password")
		}
	}
	for _, run := range keyRunRe.FindAllString(text, -1) {
		has := func(f func(rune) bool) bool { return strings.ContainsFunc(run, f) }
		mixed := has(unicode.IsUpper) && has(unicode.IsLower) && has(unicode.IsDigit)
		// An access key ID: 20 or more upper-case letters and digits.
		accessKey := !has(unicode.IsLower) && has(unicode.IsUpper) && has(unicode.IsDigit) && !strings.ContainsAny(run, "_+/=")
		if mixed || accessKey {
			found = append(found, "a key-like string of "+strconv.Itoa(len(run))+" characters")
		}
	}
	if pemRe.MatchString(text) {
		found = append(found, "a private key")
	}
	return found
}

// TestKubernetesSecretDetector proves the scan below can fail: realistic
// (made-up) secrets are caught, the documented placeholders are not. The
// samples are assembled at run time so that this file holds none.
func TestKubernetesSecretDetector(t *testing.T) {
	digits := strings.Repeat("1234567890", 2)
	mixed := "aB3" + strings.Repeat("xY7", 10)
	caught := []string{
		"SLACK_BOT_TOKEN: xox" + "b-" + digits + "-" + mixed,
		"--from-literal=SLACK_APP_TOKEN=xa" + "pp-1-A" + digits,
		"LEASEBOT_DATABASE_URL: postgres://leasebot:" + "hunter2" + "@db:5432/leasebot",
		"url: postgresql://u:" + "s3cr3t" + "@db/leasebot?sslmode=require",
		"MODELARTS_SK: " + mixed,
		"MODELARTS_AK: " + "HPU" + strings.ToUpper("abcdefghijk") + "123456",
		"-----BEGIN " + "RSA PRIVATE KEY-----",
	}
	for _, s := range caught {
		if len(secretsIn(s)) == 0 {
			t.Errorf("not caught: %.24s…", s)
		}
	}
	clean := []string{
		"SLACK_APP_TOKEN: xapp-REPLACE-ME", "xoxb-… and xapp-…", "`xoxb-…`",
		"postgres://leasebot:REPLACE-ME@postgres.example.internal:5432/leasebot?sslmode=verify-full",
		"postgres://USER:PASSWORD@HOST:5432/DB", "postgres://leasebot@db/leasebot",
		"project_id: 00000000000000000000000000000000", "terminationGracePeriodSeconds: 45",
		"topologySpreadConstraints", "LEASEBOT_DATABASE_URL", "C0REPLACEME1",
	}
	for _, s := range clean {
		if f := secretsIn(s); len(f) != 0 {
			t.Errorf("%q flagged as %v", s, f)
		}
	}
}

// TestKubernetesNoSecretValues catches a real token, key, private key or
// database password written into any file under deploy/ (a Secret filled in
// "just for a test", a URL pasted into the README).
func TestKubernetesNoSecretValues(t *testing.T) {
	var n int
	err := filepath.WalkDir("deploy", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, f := range secretsIn(string(data)) {
			t.Errorf("%s: %s; use a placeholder (%s)", p, f, strings.Join(placeholders, ", "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no files under deploy/")
	}
}

// TestKubernetesKustomizeBuild renders the kustomization with kubectl, when
// it is installed, and checks that the image is rewritten and the example
// Secret stays out. It catches what only kustomize sees: an unknown field in
// kustomization.yaml, a duplicate object, an images: entry that matches
// nothing.
func TestKubernetesKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", kubeDir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", kubeDir, err, out)
	}
	m := readKubeManifests(t)
	objs, err := decodeAll[kubeObject](out)
	if err != nil {
		t.Fatalf("the rendered manifests do not parse: %v", err)
	}
	for _, o := range objs {
		if o.Kind == "Secret" {
			t.Errorf("the rendered manifests hold a Secret %s", o.Metadata.Name)
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			for _, im := range m.kust.Images {
				if !strings.HasPrefix(c.Image, im.NewName+":") && !strings.HasPrefix(c.Image, im.NewName+"@") {
					t.Errorf("container %s runs %q, not the image %s set in kustomization.yaml", c.Name, c.Image, im.NewName)
				}
			}
		}
	}
	if len(objs) != len(m.objects) {
		t.Errorf("kustomize rendered %d objects, the resources hold %d", len(objs), len(m.objects))
	}
}

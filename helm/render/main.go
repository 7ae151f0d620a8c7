// Renders a chart the way `helm template` does, for machines without the helm binary (these
// development and CI machines): the same engine (Go's text/template with sprig and Helm's own
// functions include, tpl, required, fail, toYaml, toJson, fromYaml), values coalesced as Helm
// does, the manifests in Helm's install order with hooks last, each under a "# Source:" line.
// Local subcharts (file://) are rendered with their alias and values. What it does not do: .Files,
// lookup, remote dependencies, Capabilities beyond a fixed Kubernetes version.
//
//	go run ./helm/render -chart helm/odc-deployer -name odc-deployer -namespace odc-system -f values.yaml
//
// It builds with Debian's Go packages alone (GO111MODULE=off GOPATH=/usr/share/gocode, see .ci/run):
// golang-go, golang-github-masterminds-sprig-dev, golang-github-ghodss-yaml-dev.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type valueFiles []string

func (f *valueFiles) String() string     { return strings.Join(*f, ",") }
func (f *valueFiles) Set(v string) error { *f = append(*f, v); return nil }

// Helm's install order (pkg/release/util/kind_sorter.go); unknown kinds go last.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

type document struct {
	source string
	kind   string
	name   string
	hook   bool
	text   string
	index  int
}

func main() {
	chartDir := flag.String("chart", "", "the chart's folder")
	release := flag.String("name", "release", "the release name")
	namespace := flag.String("namespace", "default", "the release namespace")
	var files valueFiles
	flag.Var(&files, "f", "a values file (repeatable)")
	flag.Parse()
	out, err := render(*chartDir, *release, *namespace, files)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func readYAML(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	values := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return values, nil
}

// coalesce lays overrides over defaults as Helm does: maps merge, null removes, the rest replaces.
func coalesce(defaults, overrides map[string]interface{}) map[string]interface{} {
	merged := map[string]interface{}{}
	for key, value := range defaults {
		merged[key] = value
	}
	for key, value := range overrides {
		if value == nil {
			delete(merged, key)
			continue
		}
		base, baseIsMap := merged[key].(map[string]interface{})
		over, overIsMap := value.(map[string]interface{})
		if baseIsMap && overIsMap {
			merged[key] = coalesce(base, over)
		} else {
			merged[key] = value
		}
	}
	return merged
}

func render(chartDir, release, namespace string, files []string) (string, error) {
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, file := range files {
		overrides, err := readYAML(file)
		if err != nil {
			return "", err
		}
		values = coalesce(values, overrides)
	}
	releaseInfo := map[string]interface{}{
		"Name": release, "Namespace": namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}
	documents, err := renderChart(chartDir, "", "", values, releaseInfo)
	if err != nil {
		return "", err
	}
	sortForInstall(documents)
	var out strings.Builder
	for _, doc := range documents {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", doc.source, doc.text)
	}
	return out.String(), nil
}

// renderChart renders one chart, then its enabled dependencies (local ones, file://) with the
// values under their alias, as Helm renders subcharts; nameOverride is a subchart's alias and
// parent the path its templates are named under.
func renderChart(chartDir, nameOverride, parent string, values map[string]interface{}, release map[string]interface{}) ([]document, error) {
	chart, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	chartName := fmt.Sprint(chart["name"])
	if nameOverride != "" {
		chartName = nameOverride
	}
	path := parent + chartName
	templates, names, err := parseTemplates(chartDir, path)
	if err != nil {
		return nil, err
	}
	top := map[string]interface{}{
		"Values":  values,
		"Release": release,
		"Chart": map[string]interface{}{
			"Name": chartName, "Version": chart["version"], "AppVersion": chart["appVersion"],
			"Description": chart["description"], "Type": chart["type"],
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.32.0", "Major": "1", "Minor": "32"},
		},
	}
	var documents []document
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasPrefix(base, "_") || !strings.HasSuffix(base, ".yaml") {
			continue
		}
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": path + "/templates"}
		var buf bytes.Buffer
		if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		docs, err := splitDocuments(name, text, len(documents))
		if err != nil {
			return nil, err
		}
		documents = append(documents, docs...)
	}
	subcharts, err := renderDependencies(chart, chartDir, path, values, release, len(documents))
	if err != nil {
		return nil, err
	}
	return append(documents, subcharts...), nil
}

func renderDependencies(chart map[string]interface{}, chartDir, path string, values, release map[string]interface{}, offset int) ([]document, error) {
	dependencies, _ := chart["dependencies"].([]interface{})
	var documents []document
	for _, entry := range dependencies {
		dependency, _ := entry.(map[string]interface{})
		name := fmt.Sprint(dependency["name"])
		alias, _ := dependency["alias"].(string)
		if alias == "" {
			alias = name
		}
		if condition, _ := dependency["condition"].(string); condition != "" && !enabled(values, condition) {
			continue
		}
		repository, _ := dependency["repository"].(string)
		if !strings.HasPrefix(repository, "file://") {
			return nil, fmt.Errorf("dependency %s: only file:// repositories are rendered here", name)
		}
		subDir := filepath.Join(chartDir, strings.TrimPrefix(repository, "file://"))
		defaults, err := readYAML(filepath.Join(subDir, "values.yaml"))
		if err != nil {
			return nil, err
		}
		given, _ := values[alias].(map[string]interface{})
		docs, err := renderChart(subDir, alias, path+"/charts/", coalesce(defaults, given), release)
		if err != nil {
			return nil, err
		}
		for i := range docs {
			docs[i].index = offset + len(documents) + i
		}
		documents = append(documents, docs...)
	}
	return documents, nil
}

// enabled reads a dependency's condition, a dotted path into the values.
func enabled(values map[string]interface{}, condition string) bool {
	var at interface{} = values
	for _, key := range strings.Split(condition, ".") {
		parent, _ := at.(map[string]interface{})
		at = parent[key]
	}
	on, _ := at.(bool)
	return on
}

func parseTemplates(chartDir, chartName string) (*template.Template, []string, error) {
	root := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		if t, err = t.New("tpl").Parse(text); err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil || value == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	funcs["fail"] = func(message string) (string, error) { return "", errors.New(message) }
	funcs["toYaml"] = func(value interface{}) string {
		out, err := yaml.Marshal(value)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	funcs["toJson"] = func(value interface{}) string {
		out, err := json.Marshal(value)
		if err != nil {
			return ""
		}
		return string(out)
	}
	funcs["fromYaml"] = func(text string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(text), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	root.Funcs(funcs)
	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	var names []string
	for _, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		name := chartName + "/templates/" + filepath.Base(path)
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
	}
	return root, names, nil
}

var separator = regexp.MustCompile(`(?m)^---\s*$`)

// splitDocuments cuts a rendered file into its objects, dropping empty ones, as Helm does.
func splitDocuments(source, text string, offset int) ([]document, error) {
	var docs []document
	for _, part := range separator.Split(text, -1) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(part), &head); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", source, err, part)
		}
		if head.Kind == "" {
			continue // comments only
		}
		_, hook := head.Metadata.Annotations["helm.sh/hook"]
		docs = append(docs, document{
			source: source, kind: head.Kind, name: head.Metadata.Name, hook: hook, text: part,
			index: offset + len(docs),
		})
	}
	return docs, nil
}

func rank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

func sortForInstall(docs []document) {
	sort.SliceStable(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		if a.hook != b.hook {
			return !a.hook
		}
		if rank(a.kind) != rank(b.kind) {
			return rank(a.kind) < rank(b.kind)
		}
		if rank(a.kind) == len(installOrder) && a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.index < b.index
	})
}

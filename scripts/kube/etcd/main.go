// Command etcd is the etcd server of the real-Kubernetes test tier (scripts/kube/build.sh): the
// same entry point as upstream's server/main.go, built from the go.etcd.io/etcd/server/v3 release
// pinned in scripts/kube/versions.env.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

// odc-csi-hostpath: the CSI driver of the real-Kubernetes test tier (docs/kube-tier.md, "Storage").
//
// The real sidecars (csi-provisioner, csi-snapshotter) call it over a unix socket exactly as they
// call any CSI driver; it keeps each volume as a directory under -data-dir and each snapshot as a
// copy of one. It offers what a controller without a kubelet can do: the Identity service and the
// Controller service's CreateVolume (empty, from a snapshot, or cloned from a volume), DeleteVolume,
// CreateSnapshot, DeleteSnapshot, ListSnapshots and ValidateVolumeCapabilities; a Group Controller
// service without capabilities (csi-snapshotter asks for them). No Node service:
// nothing is ever mounted (kwok runs no containers). No topology: a volume can be used from any
// node. It stands in for csi-driver-host-path, which the Go module proxy does not serve here.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	version     = "0.1.0"
	defaultSize = 1 << 30 // what a claim that names no size gets
)

// volume and snapshot are what the driver remembers (state.json beside the data).
type volume struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Snapshot string `json:"snapshot,omitempty"` // restored from
	Clone    string `json:"clone,omitempty"`    // cloned from
}

type snapshot struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Source  string    `json:"source"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

type state struct {
	Volumes   map[string]*volume   `json:"volumes"`
	Snapshots map[string]*snapshot `json:"snapshots"`
}

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedGroupControllerServer

	name string
	dir  string
	mu   sync.Mutex
	st   state
}

func main() {
	endpoint := flag.String("endpoint", "", "unix socket to listen on (a path or unix:///path)")
	dataDir := flag.String("data-dir", "", "where volumes and snapshots are kept")
	name := flag.String("driver-name", "hostpath.csi.odc.dev", "the CSI driver's name")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *endpoint == "" || *dataDir == "" {
		log.Fatal("-endpoint and -data-dir are required")
	}
	d := &driver{name: *name, dir: *dataDir, st: state{Volumes: map[string]*volume{}, Snapshots: map[string]*snapshot{}}}
	if err := d.load(); err != nil {
		log.Fatal(err)
	}
	socket := *endpoint
	if len(socket) > len("unix://") && socket[:len("unix://")] == "unix://" {
		socket = socket[len("unix://"):]
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatal(err)
	}
	listener, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(server, d)
	csi.RegisterControllerServer(server, d)
	csi.RegisterGroupControllerServer(server, d)
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		server.GracefulStop()
	}()
	log.Printf("%s %s serving on %s, data in %s", d.name, version, socket, d.dir)
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
}

func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		log.Printf("%s: %v", info.FullMethod, err)
	} else if info.FullMethod != "/csi.v1.Identity/Probe" {
		log.Printf("%s: ok", info.FullMethod)
	}
	return resp, err
}

// --- state ------------------------------------------------------------------------------------

func (d *driver) load() error {
	for _, sub := range []string{"volumes", "snapshots"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(filepath.Join(d.dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, &d.st)
}

// save writes state.json (under d.mu).
func (d *driver) save() error {
	data, err := json.MarshalIndent(d.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "state.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, "state.json"))
}

func (d *driver) volumePath(id string) string   { return filepath.Join(d.dir, "volumes", id) }
func (d *driver) snapshotPath(id string) string { return filepath.Join(d.dir, "snapshots", id) }

// copyTree copies the regular files and directories under from into to (which must not exist).
func copyTree(from, to string) error {
	return filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			in, err := os.Open(path)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		default:
			return nil // sockets, links: a test volume has none
		}
	})
}

func internal(err error) error { return status.Error(codes.Internal, err.Error()) }

// --- Identity ---------------------------------------------------------------------------------

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: version}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{
			Type: csi.PluginCapability_Service_CONTROLLER_SERVICE,
		}},
	}}}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// GroupControllerGetCapabilities: none (csi-snapshotter asks, as the group snapshot CRDs are there).
func (d *driver) GroupControllerGetCapabilities(context.Context, *csi.GroupControllerGetCapabilitiesRequest) (*csi.GroupControllerGetCapabilitiesResponse, error) {
	return &csi.GroupControllerGetCapabilitiesResponse{}, nil
}

// --- Controller -------------------------------------------------------------------------------

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, c := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume_capabilities are required")
	}
	size := req.GetCapacityRange().GetRequiredBytes()
	if size == 0 {
		size = defaultSize
	}
	if limit := req.GetCapacityRange().GetLimitBytes(); limit > 0 && limit < size {
		return nil, status.Errorf(codes.OutOfRange, "limit %d is below the required %d bytes", limit, size)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// The volume's name is unique per claim (pvc-<uid>): it is the volume's id too.
	id := req.GetName()
	if existing := d.st.Volumes[id]; existing != nil {
		if existing.Size < size {
			return nil, status.Errorf(codes.AlreadyExists, "volume %s exists with %d bytes", id, existing.Size)
		}
		return &csi.CreateVolumeResponse{Volume: d.csiVolume(existing, req.GetVolumeContentSource())}, nil
	}
	v := &volume{ID: id, Name: req.GetName(), Size: size}
	path := d.volumePath(id)
	var err error
	switch {
	case req.GetVolumeContentSource().GetSnapshot() != nil:
		s := d.st.Snapshots[req.GetVolumeContentSource().GetSnapshot().GetSnapshotId()]
		if s == nil {
			return nil, status.Errorf(codes.NotFound, "snapshot %s not found", req.GetVolumeContentSource().GetSnapshot().GetSnapshotId())
		}
		if s.Size > size {
			return nil, status.Errorf(codes.OutOfRange, "snapshot %s has %d bytes, more than the %d requested", s.ID, s.Size, size)
		}
		v.Snapshot = s.ID
		err = copyTree(d.snapshotPath(s.ID), path)
	case req.GetVolumeContentSource().GetVolume() != nil:
		source := d.st.Volumes[req.GetVolumeContentSource().GetVolume().GetVolumeId()]
		if source == nil {
			return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeContentSource().GetVolume().GetVolumeId())
		}
		if source.Size > size {
			return nil, status.Errorf(codes.OutOfRange, "volume %s has %d bytes, more than the %d requested", source.ID, source.Size, size)
		}
		v.Clone = source.ID
		err = copyTree(d.volumePath(source.ID), path)
	default:
		err = os.MkdirAll(path, 0o755)
	}
	if err != nil {
		_ = os.RemoveAll(path)
		return nil, internal(err)
	}
	d.st.Volumes[id] = v
	if err := d.save(); err != nil {
		return nil, internal(err)
	}
	return &csi.CreateVolumeResponse{Volume: d.csiVolume(v, req.GetVolumeContentSource())}, nil
}

func (d *driver) csiVolume(v *volume, source *csi.VolumeContentSource) *csi.Volume {
	return &csi.Volume{VolumeId: v.ID, CapacityBytes: v.Size, ContentSource: source}
}

func (d *driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.RemoveAll(d.volumePath(req.GetVolumeId())); err != nil {
		return nil, internal(err)
	}
	delete(d.st.Volumes, req.GetVolumeId())
	if err := d.save(); err != nil {
		return nil, internal(err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.Volumes[req.GetVolumeId()] == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func (d *driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" || req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "name and source_volume_id are required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := req.GetName() // snapshot-<uid of the VolumeSnapshotContent's snapshot>
	if existing := d.st.Snapshots[id]; existing != nil {
		if existing.Source != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists, of volume %s", id, existing.Source)
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(existing)}, nil
	}
	source := d.st.Volumes[req.GetSourceVolumeId()]
	if source == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetSourceVolumeId())
	}
	if err := copyTree(d.volumePath(source.ID), d.snapshotPath(id)); err != nil {
		_ = os.RemoveAll(d.snapshotPath(id))
		return nil, internal(err)
	}
	s := &snapshot{ID: id, Name: req.GetName(), Source: source.ID, Size: source.Size, Created: time.Now().UTC()}
	d.st.Snapshots[id] = s
	if err := d.save(); err != nil {
		return nil, internal(err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(s)}, nil
}

func csiSnapshot(s *snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     s.ID,
		SourceVolumeId: s.Source,
		SizeBytes:      s.Size,
		CreationTime:   timestamppb.New(s.Created),
		ReadyToUse:     true,
	}
}

func (d *driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot_id is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.RemoveAll(d.snapshotPath(req.GetSnapshotId())); err != nil {
		return nil, internal(err)
	}
	delete(d.st.Snapshots, req.GetSnapshotId())
	if err := d.save(); err != nil {
		return nil, internal(err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots: by id (how csi-snapshotter checks a pre-provisioned snapshot's handle), by source
// volume, or all, in id order, paged by max_entries and a numeric starting_token.
func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var found []*snapshot
	for _, s := range d.st.Snapshots {
		if (req.GetSnapshotId() == "" || s.ID == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || s.Source == req.GetSourceVolumeId()) {
			found = append(found, s)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
	start := 0
	if token := req.GetStartingToken(); token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(found) {
			return nil, status.Errorf(codes.Aborted, "invalid starting_token %q", token)
		}
		start = n
	}
	end := len(found)
	if limit := int(req.GetMaxEntries()); limit > 0 && start+limit < end {
		end = start + limit
	}
	resp := &csi.ListSnapshotsResponse{}
	for _, s := range found[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(s)})
	}
	if end < len(found) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}

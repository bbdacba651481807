// Command csi-registrar registers a CSI driver with the kubelet, as a CSI node plugin's
// registrar does: it serves the kubelet's plugin registration API (pluginregistration.k8s.io
// v1) on a socket in the kubelet's plugin registry folder; the kubelet's plugin watcher finds
// the socket, asks for the driver's name, CSI endpoint and versions, and then calls the
// driver's NodeGetInfo itself and records the driver in the node's CSINode object.
//
// crossgate builds it from this folder with the Kubernetes release it deploys (its
// pluginregistration API types come from that release's k8s.io/kubelet).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// version is set at build time (-X main.version=...).
var version = "unknown"

type registrar struct {
	registerapi.UnimplementedRegistrationServer
	driver   string
	endpoint string
	versions []string
}

// GetInfo tells the kubelet which driver this is and where its CSI socket is.
func (r *registrar) GetInfo(ctx context.Context, req *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked for the plugin's information: %s at %s", r.driver, r.endpoint)
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driver,
		Endpoint:          r.endpoint,
		SupportedVersions: r.versions,
	}, nil
}

// NotifyRegistrationStatus is the kubelet's answer; a refusal ends the registrar, so that
// systemd restarts it and the failure shows in its journal.
func (r *registrar) NotifyRegistrationStatus(ctx context.Context, status *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !status.PluginRegistered {
		log.Printf("the kubelet refused driver %s: %s", r.driver, status.Error)
		go func() {
			time.Sleep(100 * time.Millisecond)
			os.Exit(1)
		}()
	} else {
		log.Printf("the kubelet registered driver %s", r.driver)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

func main() {
	driver := flag.String("driver", "", "name of the CSI driver, e.g. cinder.csi.openstack.org")
	endpoint := flag.String("csi-endpoint", "", "the driver's CSI socket on the node, as the kubelet reaches it")
	registry := flag.String("registry", "/var/lib/kubelet/plugins_registry", "the kubelet's plugin registry folder")
	wait := flag.Duration("wait", 2*time.Minute, "how long to wait for the driver's socket to appear")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *driver == "" || *endpoint == "" {
		log.Fatal("--driver and --csi-endpoint are required")
	}
	// The kubelet dials the driver's socket right after registration: wait for it (bounded).
	deadline := time.Now().Add(*wait)
	for {
		if _, err := os.Stat(*endpoint); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log.Fatalf("timed out after %s waiting for the driver's socket %s", *wait, *endpoint)
		}
		time.Sleep(time.Second)
	}
	socket := filepath.Join(*registry, *driver+"-reg.sock")
	if err := os.MkdirAll(*registry, 0o750); err != nil {
		log.Fatal(err)
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatalf("removing the old socket %s: %v", socket, err)
	}
	listener, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatalf("listening on %s: %v", socket, err)
	}
	server := grpc.NewServer()
	registerapi.RegisterRegistrationServer(server, &registrar{
		driver: *driver, endpoint: *endpoint, versions: []string{"1.0.0"},
	})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		server.GracefulStop()
	}()
	log.Printf("csi-registrar %s: driver %s (CSI socket %s) on %s", version, *driver, *endpoint, socket)
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(socket)
}

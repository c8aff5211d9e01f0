// The real OpenTelemetry Collector of the tests (test/otlp-collector.test.ts runs the Collector
// recipes of docs/opentelemetry.md with it): the upstream Collector's own code, only the components
// those recipes use — the filelog receiver (opentelemetry-collector-contrib), the otlphttp and otlp
// (gRPC) exporters — and the debug exporter, to see what it reads when trying a recipe by hand.
// Collector core 0.165.0 (modules v1.71.0 / v0.165.0), filelog 0.165.1; every module is pinned by
// go.mod and go.sum. `.ci/run` builds it from the Go module proxy, once, into a cache folder
// (`go build -trimpath -ldflags='-s -w'`), and names the binary in LOGHOUR_OTELCOL.
package main

import (
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func components() (f otelcol.Factories, err error) {
	f.Telemetry = otelconftelemetry.NewFactory()
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](filelogreceiver.NewFactory()); err != nil {
		return f, err
	}
	f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		otlphttpexporter.NewFactory(), otlpexporter.NewFactory(), debugexporter.NewFactory())
	return f, err
}

func main() {
	cmd := otelcol.NewCommand(otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-loghour", Description: "loghour's test Collector", Version: "0.165.0"},
		Factories: components,
		// --config <file>, and ${env:NAME} inside it (the recipes' token).
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		}},
	})
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}

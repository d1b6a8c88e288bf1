# Skiff: the one entry for building, testing, generating and packaging.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/_output/tools

# Modules of go.work; each component module builds its cmd/* binaries.
MODULES := proto apiserver controller-manager ctl e2e kube-proxy kubelet scheduler
COMPONENTS := apiserver controller-manager ctl e2e kube-proxy kubelet scheduler

# The release: the last v* tag as git describe says it (v0.1.0-5-gabc: 5 commits after v0.1.0),
# else, before any tag, v0.0.0-<commits>-g<commit>,
# else (no git) v0.0.0-dev. Every binary prints it with --version.
GIT_DESCRIBE := $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null)
GIT_COUNT := $(shell git rev-list --count HEAD 2>/dev/null)
VERSION ?= $(or $(GIT_DESCRIBE),$(if $(GIT_COMMIT),v0.0.0-$(GIT_COUNT)-g$(GIT_COMMIT),v0.0.0-dev))
LDFLAGS := -X skiff.dev/proto/component.Version=$(VERSION)
# The packages' Debian version, ordered as releases are: v0.1.0-5-gabc (5
# commits after v0.1.0) is 0.1.0+5.gabc, after 0.1.0; a pre-release
# v0.2.0-rc.1 is 0.2.0~rc.1, before 0.2.0.
PKG_VERSION = $(shell echo '$(VERSION)' | sed -E 's/^v//; s/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/-dirty$$/+dirty/; s/-/~/g')

# Pinned code generators: `make proto` output depends only on these and on
# Debian's protoc (protobuf-compiler).
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PROTOC_GEN_GATEWAY := github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.32.0
PROTOC_GEN_OPENAPI := github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.32.0

# Packaging tools, pinned as the protoc plugins are.
NFPM_VERSION := v2.48.0
NFPM := $(TOOLS)/nfpm-$(NFPM_VERSION)
HELM_VERSION := v3.22.0
HELM := $(TOOLS)/helm-$(HELM_VERSION)

# An unmodified kubectl, built from the module proxy (hack/tools/kubectl pins
# k8s.io/kubectl), that the compatibility tests run as a process.
KUBECTL_VERSION := v1.32.3
KUBECTL := $(TOOLS)/kubectl-$(KUBECTL_VERSION)
KUBECTL_LDFLAGS := $(foreach p,k8s.io/client-go/pkg/version k8s.io/component-base/version,-X $(p).gitVersion=$(KUBECTL_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=32 -X $(p).gitTreeState=clean)
export SKIFF_KUBECTL := $(KUBECTL)

# One .deb per component in COMPONENTS that has systemd/nfpm/<package>.yaml
# (ctl's package is skiffctl; e2e's test tools have none), into PKG_OUT.
PACKAGES := $(basename $(notdir $(wildcard $(foreach c,$(COMPONENTS),systemd/nfpm/$(if $(filter ctl,$(c)),skiffctl,skiff-$(c)).yaml))))
PKG_OUT ?= _output/packages

.PHONY: all build packages nfpm helm kubectl test test-unit test-integration test-e2e proto verify-proto lint fmt up certs bench bench-api bench-scheduler bench-controllers bench-failover bench-proxy bench-kubelet bench-e2e images tools clean

all: build

## build: every binary into bin/
build: $(addprefix build-,$(COMPONENTS))

build-%:
	@mkdir -p $(BIN)
	cd $* && $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## test: everything CI runs
test: lint verify-proto test-unit test-integration

## test-unit: fast tests of every module, race detector on (packages outside test/ and integration/)
test-unit: $(addprefix test-unit-,$(MODULES))

test-unit-%:
	@cd $* && pkgs=$$($(GO) list ./... | grep -Ev '/(test|integration)(/|$$)'); \
	if [ -n "$$pkgs" ]; then $(GO) test -race -count=1 $$pkgs; fi

## test-integration: real embedded etcd, real apiserver in-process, real processes
test-integration: build $(NFPM) $(HELM) $(KUBECTL) $(addprefix test-integration-,$(MODULES))

test-integration-%:
	@cd $* && pkgs=$$($(GO) list ./... | grep -E '/(test|integration)(/|$$)'); \
	if [ -n "$$pkgs" ]; then $(GO) test -race -count=1 -timeout 20m $$pkgs; fi

## lint: gofmt and go vet over every module
lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt:
	gofmt -w $(MODULES)

## bench-scheduler: pods/s and binding latency of skiff-scheduler, 1,000 nodes x 3,000 pods through a real apiserver
bench-scheduler:
	cd scheduler && SKIFF_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run TestSchedulerThroughput ./internal/scheduler | grep -E 'RESULT|PASS|FAIL|ok'

## bench-e2e: a lab of 1 master + 2 nodes, time from `create deployment` (10 replicas, image from the lab registry) to all Ready; appends to docs/benchmarks.md (root)
bench-e2e:
	hack/bench-e2e.sh

## bench-proxy: skiff-kube-proxy full sync at 1,000 and 10,000 Services x 5 endpoints and a one-endpoint change, real iptables in a network namespace; appends to docs/benchmarks.md
bench-proxy:
	hack/bench-proxy.sh

## bench-controllers: skiff-controller-manager with the real scheduler, 100 nodes, a Deployment 0 -> 1,000 pods and a rolling update; figures in docs/benchmarks.md
bench-controllers: build-scheduler
	cd controller-manager && SKIFF_BENCH=1 SKIFF_SCHEDULER_BIN=$(BIN)/skiff-scheduler $(GO) test -tags bench -count=1 -v -timeout 30m -run TestControllerThroughput ./test/bench | grep -E 'RESULT|PASS|FAIL|ok'

## images: the project's container images (static Go binaries on an empty base) as OCI archives in _output/images, no Docker
images:
	cd kubelet && CGO_ENABLED=0 $(GO) run ./cmd/skiff-mkimage --out $(CURDIR)/_output/images

## bench-kubelet: pod startup latency (30 pods at once) and kubelet RSS/CPU at 30 and 100 pods, real containerd; appends to docs/benchmarks.md (as root)
bench-kubelet:
	cd kubelet && SKIFF_BENCH=1 SKIFF_BENCH_OUT=$(CURDIR)/docs/benchmarks.md $(GO) test -count=1 -v -timeout 30m -run TestBenchKubelet ./test | grep -E 'RESULT|PASS|FAIL|ok'

## tools: the pinned protoc plugins
tools: $(TOOLS)/.stamp
$(TOOLS)/.stamp: Makefile
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install $(PROTOC_GEN_GO_GRPC)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install $(PROTOC_GEN_GATEWAY)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install $(PROTOC_GEN_OPENAPI)
	@touch $@

## proto: regenerate the API contract
proto: tools
	TOOLS=$(TOOLS) hack/genproto.sh

## verify-proto: fail when the committed generated code is stale
verify-proto: proto
	@git diff --exit-code --stat -- proto || { echo "generated code in proto/ is stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- proto)" || { git status --short -- proto; echo "make proto made new files: commit them"; exit 1; }

## certs: a dev CA and certificates in dev-certs/
certs: build-apiserver
	$(BIN)/skiff-apiserver certs --dir dev-certs

## up: a single-node cluster in the foreground, in network namespaces (installs packages, builds; see README)
up:
	BIN=$(BIN) MAKE="$(MAKE)" hack/up.sh

## bench-failover: scheduler leader fail-over in the HA lab (3 masters, etcd cluster, haproxy), 3 runs; figures in docs/benchmarks.md
bench-failover:
	cd e2e && $(GO) test -count=3 -v -timeout 20m -run TestLabHAFailover ./test | grep -E 'leader|held by|^(--- |ok|FAIL)'

## bench-api: apiserver throughput and latency on this machine (not a test); report in docs/benchmarks-api.md
bench-api:
	cd apiserver && $(GO) run ./test/bench -out ../docs/benchmarks-api.md

## packages: the .deb packages into PKG_OUT (version PKG_VERSION, from VERSION)
packages: $(NFPM)
	$(MAKE) build BIN=$(CURDIR)/_output/package/bin
	@mkdir -p $(PKG_OUT)
	@for p in $(PACKAGES); do \
		VERSION=$(PKG_VERSION) $(NFPM) package -f systemd/nfpm/$$p.yaml -p deb -t $(PKG_OUT)/ || exit 1; \
	done

## nfpm, helm, kubectl: the pinned packaging tools and the kubectl the compatibility tests run (nfpm builds the .debs; helm lints and renders charts/)
nfpm: $(NFPM)
$(NFPM):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
	mv $(TOOLS)/nfpm $@

helm: $(HELM)
$(HELM):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOWORK=off $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(TOOLS)/helm $@

kubectl: $(KUBECTL)
$(KUBECTL): hack/tools/kubectl/go.mod hack/tools/kubectl/main.go
	@mkdir -p $(TOOLS)
	cd hack/tools/kubectl && GOWORK=off $(GO) build -ldflags '$(KUBECTL_LDFLAGS)' -o $@ .

## print-VAR: a Makefile variable's value (tests read COMPONENTS and VERSION)
print-%:
	@echo $($*)

clean:
	rm -rf $(BIN) _output

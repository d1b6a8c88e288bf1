# Skiff: the one entry for building, testing, generating and packaging.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/_output/tools

# Modules of go.work; each component module builds its cmd/* binaries.
MODULES := proto apiserver ctl e2e kubelet scheduler
COMPONENTS := apiserver ctl kubelet scheduler

# Pinned code generators: `make proto` output depends only on these and on
# Debian's protoc (protobuf-compiler).
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PROTOC_GEN_GATEWAY := github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.32.0
PROTOC_GEN_OPENAPI := github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.32.0

.PHONY: all build test test-unit test-integration test-e2e proto verify-proto lint fmt up certs bench bench-api bench-scheduler bench-kubelet images tools clean

all: build

## build: every binary into bin/
build: $(addprefix build-,$(COMPONENTS))

build-%:
	@mkdir -p $(BIN)
	cd $* && $(GO) build -o $(BIN)/ ./cmd/...

## test: everything CI runs
test: lint verify-proto test-unit test-integration

## test-unit: fast tests of every module, race detector on (packages outside test/ and integration/)
test-unit: $(addprefix test-unit-,$(MODULES))

test-unit-%:
	@cd $* && pkgs=$$($(GO) list ./... | grep -Ev '/(test|integration)(/|$$)'); \
	if [ -n "$$pkgs" ]; then $(GO) test -race -count=1 $$pkgs; fi

## test-integration: real embedded etcd, real apiserver in-process, real processes
test-integration: build $(addprefix test-integration-,$(MODULES))

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

## up: a local cluster in the foreground
up: build
	BIN=$(BIN) hack/up.sh

## bench-api: apiserver throughput and latency on this machine (not a test); report in docs/benchmarks-api.md
bench-api:
	cd apiserver && $(GO) run ./test/bench -out ../docs/benchmarks-api.md

clean:
	rm -rf $(BIN) _output

# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
ENV := source scripts/node-env.sh &&

.PHONY: demo test verify unit deps binaries tools build lint clean image test-image

## demo: start a local control plane and run the operator's story on it (or `run` against $$KUBECONFIG)
demo: deps binaries
	$(ENV) npm run --silent demo

## test: unit, integration and e2e tests against a real local control plane; ends with "N passed, N failed"
test: deps $(if $(TOOLS_DONE_DIR),,tools)   # with TOOLS_DONE_DIR (.ci/run), the tools build beside the tests
	$(ENV) node --version && npm test

## verify: ESLint, Prettier, tsc over src and test, generated API types fresh, architecture rules (CI's first step; names the failing files)
verify: deps
	@$(ENV) bash test/verify/verify.sh

## unit: the pure tests (no Go, no control plane, no writes into src/), in well under a minute
unit: deps
	$(ENV) node test/run.ts test/unit/

## image: the OCI image index (linux/amd64 + linux/arm64: Debian packages + Node 24 + the app) in image/out/oci, with SBOMs, via umoci; signed and SBOM-attested with cosign (COSIGN_KEY, or a throwaway key) into image/out/signed
image: deps
	bash image/build.sh
	$(ENV) bash image/sign.sh

## test-image: build the image, check it is reproducible, its arm64 binaries (under qemu), its signature and SBOM attestation, and run it under runc against a local control plane
test-image: image binaries
	$(ENV) node test/run.ts test/image/

deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json scripts/node-env.sh
	$(ENV) npm ci --no-audit --no-fund --loglevel=error && touch $@

binaries:
	@bash test/cluster/build-binaries.sh >/dev/null

## tools: every tool the tests run (control plane, Argo CD, Argo Rollouts, kubelet + containerd, Helm, promtool, cosign), built from pinned Go modules in parallel; instant when cached
tools:
	@bash test/build-tools.sh

build: deps
	$(ENV) npm run build

lint: deps
	$(ENV) npm run lint

clean:
	rm -rf dist node_modules .tools

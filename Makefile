# LOA reference system: images, the dev loop and local runs. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DEPLOY        := deploy
COMPOSE_FILES := -f $(DEPLOY)/docker-compose.dev.yml
# On machines where only loopback may be a network target, share the host's network.
ifeq ($(LOA_HOST_NETWORK),1)
COMPOSE_FILES += -f $(DEPLOY)/docker-compose.host.yml
endif
COMPOSE       := docker-compose -p loa-dev $(COMPOSE_FILES)
CORE_IMAGE    ?= loa-core:latest
DEV_IMAGE     ?= loa-dev:latest
FULL_IMAGE    ?= loa:latest
NODE_IMAGE    ?= node:20-bookworm-slim
DEBIAN_IMAGE  ?= debian:bookworm-slim
PORT          ?= 18789
BUILD         := DOCKER_BUILDKIT=1 docker build --network $(or $(BUILD_NETWORK),default)
export LOA_CORE_IMAGE=$(CORE_IMAGE) LOA_DEV_IMAGE=$(DEV_IMAGE) LOA_PORT=$(PORT)

.PHONY: help dev dev-build dev-shell dev-logs dev-down dev-clean deploy-cf build-image build-full run-local test-image env-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

env-check:
	@test -f .env.local || { echo "make: .env.local is missing: copy .env.local.example to .env.local and fill it in (it is ignored by git)." >&2; exit 1; }

dev: env-check dev-build ## Start the dev loop (hot reload of deploy/loa-identity) in the background
ifeq ($(LOA_HOST_NETWORK),1)
	$(COMPOSE) run -d --name loa-dev loa
else
	$(COMPOSE) up -d
endif
	@echo "dev loop up: http://127.0.0.1:$(PORT)/health/extended  (make dev-logs, make dev-down)"

dev-build: build-image ## Build the dev image on top of the core image
	$(BUILD) -f $(DEPLOY)/Dockerfile.dev --build-arg BASE_IMAGE=$(CORE_IMAGE) -t $(DEV_IMAGE) $(DEPLOY)

dev-shell: ## Open a shell in the running dev container
	docker exec -it $$(docker ps -q --filter name=loa-dev | head -n1) bash

dev-logs: ## Follow the dev container's logs
	docker logs -f $$(docker ps -q --filter name=loa-dev | head -n1)

dev-down: ## Stop the dev container (the tool volume stays)
	-docker rm -f loa-dev 2>/dev/null
	$(COMPOSE) down

dev-clean: ## Stop the dev container and remove its named tool volume
	-docker rm -f loa-dev 2>/dev/null
	$(COMPOSE) down --volumes

build-image: ## Build the core image (deploy/Dockerfile.core)
	$(BUILD) -f $(DEPLOY)/Dockerfile.core --build-arg NODE_IMAGE=$(NODE_IMAGE) -t $(CORE_IMAGE) $(DEPLOY)

build-full: ## Build the full image (deploy/Dockerfile: rust-builder, python-builder, runtime)
	$(BUILD) -f $(DEPLOY)/Dockerfile --build-arg NODE_IMAGE=$(NODE_IMAGE) --build-arg DEBIAN_IMAGE=$(DEBIAN_IMAGE) -t $(FULL_IMAGE) $(DEPLOY)

run-local: build-image ## Run the core image with a named /data volume on PORT
	docker run --rm -it --name loa-local -p $(PORT):18789 -v loa-local-data:/data --env-file .env.local $(CORE_IMAGE)

test-image: build-image ## Boot the core image and wait for /health (the seed's test-image)
	@set -e; cid=$$(docker run -d --rm -p $(PORT):18789 $(CORE_IMAGE)); trap 'docker rm -f $$cid >/dev/null' EXIT; \
	for i in $$(seq 1 60); do curl -fsS http://127.0.0.1:$(PORT)/health >/dev/null && { echo "healthy after $$i tries"; curl -fsS http://127.0.0.1:$(PORT)/health/extended; echo; exit 0; }; sleep 0.5; done; \
	echo "the image did not answer /health in 30 s; its logs:" >&2; docker logs $$cid >&2; exit 1

deploy-cf: ## Deploy the Worker and its container with wrangler (deploy/cloudflare; needs CLOUDFLARE_API_TOKEN)
	@test -n "$$CLOUDFLARE_API_TOKEN" || { echo "make: set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) in the environment, not on the command line." >&2; exit 1; }
	cd $(DEPLOY)/cloudflare && npx wrangler deploy

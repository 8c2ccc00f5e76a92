# syntax=docker/dockerfile:1
#
# AIAS image: the four binaries (aias, aias-ingress, aias-worker,
# aias-scheduler) on a static, non-root distroless base. The default command
# is the ingress; run the others by overriding the command:
#   docker run aias:latest aias-worker
#   docker run aias:latest aias migrate
#
# Build:  docker build -t aias:latest .

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0

# Dependencies first, so source edits keep this layer cached.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} sh -ec '\
      go build -trimpath -ldflags="-s -w" -o /out/aias           ./cmd/aias; \
      go build -trimpath -ldflags="-s -w" -o /out/aias-ingress   ./cmd/ingress; \
      go build -trimpath -ldflags="-s -w" -o /out/aias-worker    ./cmd/worker; \
      go build -trimpath -ldflags="-s -w" -o /out/aias-scheduler ./cmd/scheduler'

# Static base: CA certificates and tzdata, no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# 65532 is distroless's nonroot user; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
CMD ["aias-ingress"]

# syntax=docker/dockerfile:1
#
# Tollgate in a container: one static-enough binary (dashboard assets and SQL migrations are embedded) on Debian
# slim, running as uid 10001 with its SQLite database in the /data volume.
#
#   docker build --build-arg TOLLGATE_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t tollgate .
#   docker run -d -p 3000:3000 -v tollgate-data:/data -e TOLLGATE_ADMIN_TOKEN=… tollgate
#
# docs/deploy.md explains the settings; crates/gateway/tests/packaging.rs checks that every variable and flag used
# here is one the binary accepts.

FROM rust:1-bookworm AS builder

# The commit `tollgate --version` prints. .git is not in the build context (.dockerignore), so build.rs takes it
# from this variable (ARGs are in the environment of RUN); without it the version says `commit unknown`.
ARG TOLLGATE_GIT_COMMIT=

WORKDIR /src
# Only what the build reads. `rust-toolchain.tom[l]` copies the toolchain file if the repository has one (the glob
# may match nothing).
COPY Cargo.toml Cargo.lock rust-toolchain.tom[l] ./
COPY crates crates
COPY migrations migrations

# The toolchain: a rust-toolchain.toml, when present, is installed and used by every cargo call below (rustup reads
# it from the working directory); otherwise the image's stable toolchain builds, and cargo refuses one older than
# the workspace's `rust-version`.
RUN if [ -f rust-toolchain.toml ]; then rustup toolchain install || rustup show; fi \
    && rustc --version && cargo --version

# --locked: exactly the dependency versions of Cargo.lock. The cache mounts keep the registry and target/ between
# builds (BuildKit); the binary is copied out of the mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tollgate \
    && install -m 0755 target/release/tollgate /usr/local/bin/tollgate \
    && /usr/local/bin/tollgate --version

FROM debian:bookworm-slim AS runtime

# ca-certificates for any TLS the process or an operator's tooling needs (the binary itself bundles the WebPKI
# roots for upstream HTTPS).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tollgate \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin tollgate \
    && mkdir -p /data \
    && chown 10001:10001 /data

COPY --from=builder /usr/local/bin/tollgate /usr/local/bin/tollgate

USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 3000

# Listen on every interface of the container; the SQLite file lives in the volume (an absolute path: three
# slashes). For PostgreSQL set DATABASE_URL=postgres://… instead (docker-compose.yml does).
ENV TOLLGATE_LISTEN=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/tollgate.db

# GET /healthz without curl: bash's /dev/tcp (bash is part of debian:bookworm-slim), on the port of
# TOLLGATE_LISTEN. If you move the port with --listen instead of TOLLGATE_LISTEN, override this check too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "addr=\"${TOLLGATE_LISTEN:-127.0.0.1:3000}\"; port=\"${addr##*:}\"; host=\"${addr%:*}\"; host=\"${host#[}\"; host=\"${host%]}\"; case \"$host\" in 0.0.0.0|::|'') host=127.0.0.1 ;; esac; exec 3<>\"/dev/tcp/$host/$port\" || exit 1; printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3; read -r -t 5 status <&3; [[ \"$status\" == *' 200 '* ]]"]

ENTRYPOINT ["tollgate"]
CMD ["serve"]

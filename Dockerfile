# syntax=docker/dockerfile:1
#
# rnatsd image: a statically linked rnatsd in an empty image, laid out like
# the official nats image (/nats-server, /nats-server.conf, the same ports).
#   docker build -t rnatsd .
#   docker run -p 4222:4222 -p 8222:8222 rnatsd

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# A static glibc binary: no shared libraries needed at run time. The same
# flags are used by crates/server/tests/docker.rs.
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p rnatsd --bin rnatsd \
        --target x86_64-unknown-linux-gnu \
 && mkdir /out \
 && cp target/x86_64-unknown-linux-gnu/release/rnatsd /out/rnatsd \
 && ln -s rnatsd /out/nats-server
COPY deploy/image.conf /out/nats-server.conf

FROM scratch
ENV PATH=/
# /rnatsd, /nats-server (a link to it) and the default /nats-server.conf.
COPY --from=build /out/ /
# Clients, cluster routes, HTTP monitoring.
EXPOSE 4222 6222 8222
# No shell or curl in the image: the binary probes /healthz itself, or the
# client port when monitoring is not enabled.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/rnatsd", "--healthcheck"]
ENTRYPOINT ["/nats-server"]
CMD ["--config", "/nats-server.conf"]

# The local stack's photo bucket: moto's S3 (pip, moto[server] at the version
# scripts/requirements-tools.txt pins for the tests and the rehearsal), made with the
# bucket, its CORS rule and public read of stores/* at every start
# (docker/photos-server.py). Local only: in AWS
# the console uploads to the template's S3 bucket.
#
# The package is installed in a stage on the same builder image as the Rust binaries,
# which trusts the same certificate authorities as this machine's cargo (a builder behind
# a TLS-inspecting proxy gets its CA there); the runtime has Debian's Python and the venv.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3=3.11.* python3-venv=3.11.* \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/moto \
    && /opt/moto/bin/pip install "moto[server]==5.2.5"

FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3=3.11.* \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/moto /opt/moto
COPY docker/photos-server.py /opt/photos-server.py
USER nobody
EXPOSE 4566
# Healthy once the bucket (and its CORS rule) is there.
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
    CMD ["/opt/moto/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/' + os.environ['PHOTO_BUCKET'] + '?cors', timeout=2)"]
ENTRYPOINT ["/opt/moto/bin/python", "/opt/photos-server.py"]

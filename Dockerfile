# camwatch service image: Python and camwatch's own wheels (PyAV and OpenCV bring their libraries), nothing
# else. The simulated fleet of `camwatch demo` is pure Python.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/camwatch
COPY . /src
RUN /opt/camwatch/bin/pip install --no-cache-dir /src
ENV PATH=/opt/camwatch/bin:$PATH
# glibc: two malloc arenas instead of one per thread, and the ≈ 10 MB /metrics bodies always in their own
# mappings (freed after each scrape). `camwatch run` sets the same itself (monitor/memory.py);
# kept here so that other entry points in the image get them too.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576
USER nobody
WORKDIR /tmp
EXPOSE 9640
# 0.0.0.0 is the container's own interface, so Prometheus in the same Docker network can scrape it. Publish
# it on the host's loopback only (`docker run -p 127.0.0.1:9640:9640`, as docker-compose.yml does); reach it
# from other hosts through a reverse proxy or with monitor.web TLS and basic_auth_users (README: Security).
CMD ["camwatch", "demo", "--listen", "0.0.0.0:9640"]

# camwatch service image. Debian's Python sees Debian's GStreamer bindings (python3-gi), which the
# simulated fleet of `camwatch demo` uses; the venv shares them through --system-site-packages.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp \
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad \
      libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv --system-site-packages /opt/camwatch
COPY . /src
RUN /opt/camwatch/bin/pip install --no-cache-dir /src
ENV PATH=/opt/camwatch/bin:$PATH
# glibc: two malloc arenas instead of one per thread, and the ≈ 10 MB /metrics bodies always in their own
# mappings (freed after each scrape): 465 -> 399 MB peak RSS at 10,000 cameras (BENCHMARKS.md).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576
USER nobody
WORKDIR /tmp
EXPOSE 9640
CMD ["camwatch", "demo", "--listen", "0.0.0.0:9640"]

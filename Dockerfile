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
USER nobody
WORKDIR /tmp
EXPOSE 9640
CMD ["camwatch", "demo", "--listen", "0.0.0.0:9640"]

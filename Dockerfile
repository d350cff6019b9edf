# One image, every role: `ssmd <command>`. Build the executable first: `bun run build`.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/ssmd ssmd \
    && mkdir -p /var/lib/ssmd/data && chown -R ssmd /var/lib/ssmd
COPY dist/ssmd /usr/local/bin/ssmd
USER ssmd
WORKDIR /var/lib/ssmd
ENV SSMD_DATA_DIR=/var/lib/ssmd/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ssmd"]
CMD ["--help"]

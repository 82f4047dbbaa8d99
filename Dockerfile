# Static, non-root leasebot image. The config is mounted as a file; secrets
# come only from the environment (SLACK_APP_TOKEN, SLACK_BOT_TOKEN,
# MODELARTS_AK/MODELARTS_SK or MODELARTS_USERNAME/PASSWORD/DOMAIN).
#
#   docker build -t leasebot --build-arg VERSION=$(git describe --always) .
#   docker run --rm -v $PWD/leasebot.yml:/etc/leasebot/leasebot.yml:ro \
#     -e SLACK_APP_TOKEN -e SLACK_BOT_TOKEN -e MODELARTS_AK -e MODELARTS_SK leasebot
#
# .ci/run builds the same binary with the same flags on every run, so this
# recipe cannot rot silently.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/leasebot .

# distroless/static: CA certificates, /etc/passwd with nonroot, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leasebot /usr/local/bin/leasebot
USER nonroot:nonroot
ENV LEASEBOT_CONFIG=/etc/leasebot/leasebot.yml
# -listen is optional; EXPOSE documents the conventional admin port.
EXPOSE 9102
ENTRYPOINT ["/usr/local/bin/leasebot"]
CMD ["run"]

module github.com/leasebot/leasebot/bench

go 1.26.0

require (
	github.com/leasebot/leasebot v0.0.0
	github.com/slack-go/slack v0.35.0
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/patrickmn/go-cache v2.1.0+incompatible // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

replace github.com/leasebot/leasebot => ../

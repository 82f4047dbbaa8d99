// Command leasebot lets a Slack channel see and extend the auto-stop lease of
// ModelArts notebooks and warns it before a notebook stops.
package main

func main() {}

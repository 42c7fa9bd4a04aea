// Command tokencall calls the API server with the token its Pod mounted, every
// INTERVAL, and logs one line per call: the time and the HTTP status. It reads
// the token each time (from TOKEN_FILE, or the TOKEN variable), so a Secret
// volume the kubelet refreshes is seen, and an env variable is not. It never
// prints the token.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url := os.Getenv("API_URL") + "/api"
	interval, err := time.ParseDuration(env("INTERVAL", "2s"))
	if err != nil {
		fail("INTERVAL: %v", err)
	}
	tlsConfig := &tls.Config{}
	if pem := caPEM(); pem != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(pem)) {
			fail("the CA (CA_FILE or CA) holds no certificate")
		}
		tlsConfig.RootCAs = pool
	} else {
		tlsConfig.InsecureSkipVerify = true // no CA mounted: the call still proves whether the token authenticates
	}
	// One kept-alive connection: a call is one request, not one TLS handshake, on a loaded API server.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 1}}
	for {
		fmt.Printf("%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), call(client, url))
		time.Sleep(interval)
	}
}

// call returns "status=<code>", or "error=<what>" when no HTTP answer came.
func call(client *http.Client, url string) string {
	token, err := token()
	if err != nil {
		return "error=" + strings.ReplaceAll(err.Error(), " ", "_")
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "error=" + strings.ReplaceAll(err.Error(), " ", "_")
	}
	resp.Body.Close()
	return fmt.Sprintf("status=%d", resp.StatusCode)
}

func token() (string, error) {
	if f := os.Getenv("TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("reading TOKEN_FILE: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := os.Getenv("TOKEN"); t != "" {
		return strings.TrimSpace(t), nil
	}
	return "", fmt.Errorf("no token: set TOKEN_FILE or TOKEN")
}

func caPEM() string {
	if f := os.Getenv("CA_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			fail("reading CA_FILE: %v", err)
		}
		return string(b)
	}
	return os.Getenv("CA")
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tokencall: "+format+"\n", args...)
	os.Exit(2)
}

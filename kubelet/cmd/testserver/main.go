// Command testserver is the HTTP server of the test image
// skiff.dev/testserver: it answers its hostname on /, and can be told to
// fail its health check, to exit, to allocate memory or to ignore SIGTERM,
// by flag, environment variable or request. With --shutdown-delay it shuts
// down gracefully: on SIGTERM it fails /ready and keeps serving that long
// before it exits. It logs every request to stdout.
//
//	GET /             the hostname
//	GET /healthz      200 "ok", or 500 once told to fail (/fail, --fail-health)
//	GET /ready        200, or 503 once told (/unready); /ready?set=1 makes it ready again
//	GET /fail         /healthz fails from now on
//	GET /exit?code=N  exits with code N
//	GET /alloc?mb=N   allocates and touches N MiB
//	GET /env?name=X   the value of environment variable X
//	GET /file?path=P  the content of file P
//	GET /fetch?url=U  GETs U and returns its body (e.g. a neighbour on localhost)
//
// With --probe URL it only GETs URL and exits 0 on a 2xx answer, else 1:
// an exec probe. Other one-shot modes, for exec (the image has no shell):
//
//	--hostname     prints the hostname
//	--cat          copies stdin to stdout
//	--exit-now=N   writes "out" to stdout and "err" to stderr, exits N
//	--winsize      prints the size of its terminal (stdin) as "ROWS COLS",
//	               once it has one (exec -it sends it), within 30 s
//
// Called as tar or test (the image's /bin/tar and /bin/test are links to
// it), it is a small tar and test with the forms `kubectl cp` runs (tar.go).
// --spin-percent=N keeps N% of a CPU busy, for `top`.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	unhealthy atomic.Bool
	unready   atomic.Bool
	mu        sync.Mutex
	hoard     [][]byte
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	switch filepath.Base(os.Args[0]) { // the image's /bin/tar and /bin/test
	case "tar":
		os.Exit(tarMain(os.Args[1:]))
	case "test":
		os.Exit(testMain(os.Args[1:]))
	}
	listen := flag.String("listen", ":"+envOr("PORT", "8080"), "address to serve on")
	failHealth := flag.Bool("fail-health", os.Getenv("FAIL_HEALTH") != "", "fail /healthz from the start")
	allocMB := flag.Int("alloc-mb", 0, "MiB to allocate at start")
	exitAfter := flag.Duration("exit-after", 0, "exit after this long (0: never)")
	exitCode := flag.Int("exit-code", 0, "exit code for --exit-after")
	ignoreTerm := flag.Bool("ignore-sigterm", os.Getenv("IGNORE_SIGTERM") != "", "log SIGTERM and keep running")
	shutdownDelay := flag.Duration("shutdown-delay", 0, "on SIGTERM, fail /ready and keep serving this long before exiting (graceful shutdown)")
	writeFile := flag.String("write-file", "", "write PATH=CONTENT at start")
	probe := flag.String("probe", "", "GET this URL and exit 0 on a 2xx answer, else 1 (for exec probes)")
	hostname := flag.Bool("hostname", false, "print the hostname and exit")
	cat := flag.Bool("cat", false, "copy stdin to stdout and exit")
	exitNow := flag.Int("exit-now", -1, `write "out" to stdout and "err" to stderr and exit with this code`)
	spin := flag.Int("spin-percent", 0, "keep this share (1-100) of one CPU busy, for `top`")
	winsize := flag.Bool("winsize", false, `print the terminal's size as "ROWS COLS" once it has one, and exit`)
	flag.Parse()
	switch {
	case *hostname:
		h, err := os.Hostname()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(h)
		os.Exit(0)
	case *cat:
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case *winsize:
		// A terminal starts 0x0 until the exec's first resize arrives.
		for range 300 {
			ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
			if err != nil {
				fmt.Println("winsize:", err)
				os.Exit(1)
			}
			if ws.Row > 0 && ws.Col > 0 {
				fmt.Printf("%d %d\n", ws.Row, ws.Col)
				os.Exit(0)
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Println("winsize: the terminal has no size")
		os.Exit(1)
	case *exitNow >= 0:
		fmt.Println("out")
		fmt.Fprintln(os.Stderr, "err")
		os.Exit(*exitNow)
	}
	if *probe != "" {
		resp, err := http.Get(*probe)
		if err != nil || resp.StatusCode/100 != 2 {
			fmt.Println("probe failed:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	unhealthy.Store(*failHealth)

	if *writeFile != "" {
		path, content, _ := strings.Cut(*writeFile, "=")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			fmt.Println("write-file:", err)
			os.Exit(2)
		}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigs {
			fmt.Printf("got signal %v\n", s)
			switch {
			case *ignoreTerm:
			case *shutdownDelay > 0:
				// As a real server shuts down: it stops being ready but
				// keeps answering until the Service has dropped it.
				unready.Store(true)
				fmt.Printf("serving %s more before exiting\n", *shutdownDelay)
				time.Sleep(*shutdownDelay)
				os.Exit(0)
			default:
				os.Exit(0)
			}
		}
	}()
	if *allocMB > 0 {
		alloc(*allocMB)
	}
	if *spin > 0 {
		go spinCPU(min(*spin, 100))
	}
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			fmt.Printf("exiting with code %d\n", *exitCode)
			os.Exit(*exitCode)
		}()
	}

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname()
		fmt.Fprintln(w, h)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if unhealthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("set") == "1" {
			unready.Store(false)
		}
		if unready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	http.HandleFunc("/unready", func(w http.ResponseWriter, r *http.Request) { unready.Store(true) })
	http.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { unhealthy.Store(true) })
	http.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Printf("exiting with code %d\n", code)
		os.Exit(code)
	})
	http.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb <= 0 {
			http.Error(w, "mb: want a positive integer", http.StatusBadRequest)
			return
		}
		alloc(mb)
		fmt.Fprintf(w, "allocated %d MiB\n", mb)
	})
	http.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	http.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	fmt.Printf("listening on %s\n", *listen)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s\n", r.Method, r.URL.RequestURI())
		http.DefaultServeMux.ServeHTTP(w, r)
	})
	if err := http.ListenAndServe(*listen, h); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// spinCPU keeps percent of one CPU busy: busy that many ms of every 100.
func spinCPU(percent int) {
	fmt.Printf("spinning %d%% of a CPU\n", percent)
	busy := time.Duration(percent) * time.Millisecond
	for {
		start := time.Now()
		for time.Since(start) < busy {
		}
		time.Sleep(100*time.Millisecond - busy)
	}
}

// alloc allocates mb MiB and touches every page so it is really used.
func alloc(mb int) {
	fmt.Printf("allocating %d MiB\n", mb)
	mu.Lock()
	defer mu.Unlock()
	for range mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
}

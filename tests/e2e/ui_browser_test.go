package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumBin is Debian's chromium (scripts/install-deps.sh test).
const chromiumBin = "/usr/bin/chromium"

// screenshotDir is where the browser test writes its screenshots (test artifacts, not removed
// at the end of the test): $STOA_TEST_ARTIFACTS/ui, or a directory under the system's temp.
func screenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("STOA_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "stoa-test-artifacts")
	}
	dir := filepath.Join(base, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser is one headless chromium; every tab it opens records the JavaScript dialogs that
// open in it (an alert() that ran).
type browser struct {
	ctx     context.Context
	mu      sync.Mutex
	dialogs []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumBin),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.mu.Lock()
			b.dialogs = append(b.dialogs, d.Message)
			b.mu.Unlock()
			// Close it (from another goroutine: a listener must not run commands), so the
			// test goes on and reports it.
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", chromiumBin, err)
	}
	return b
}

func (b *browser) ranScript() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// TestWebPagesInABrowser: headless chromium loads every page at desktop and phone widths
// (screenshots written as artifacts), finds its key elements, runs no script from the hostile
// module's text, and sees the private module only with the reader's credentials.
func TestWebPagesInABrowser(t *testing.T) {
	t.Parallel()
	f := startUI(t, "")
	s := f.s
	shots := screenshotDir(t)
	b := newBrowser(t)

	type check struct {
		path, name string
		sel        string // an element that must be there
		text       string // in the text of `sel`
	}
	checks := []check{
		{"/", "home", "pre.copy", "go env -w GOPROXY=" + s.URL},
		{"/search?q=web", "search", "ol.results", "example.com/web/pub"},
		{"/m/example.com/web/pub", "module", "table.versions", "v1.10.0"},
		{"/m/example.com/web/pub/%40v1.2.0", "module-retracted", "table.versions", "retracted"},
		{"/setup", "setup", "section.snippet", "GOPROXY"},
		{"/status", "status", "dl.facts", "cache hit ratio"},
	}
	widths := []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}}
	for _, c := range checks {
		for _, w := range widths {
			err := chromedp.Do(b.ctx,
				chromedp.EmulateViewport(w.w, w.h),
				chromedp.Navigate(s.URL+c.path),
				chromedp.WaitVisible(chromedp.CSS(c.sel)))
			if err != nil {
				t.Errorf("%s at %s: %v", c.path, w.name, err)
				continue
			}
			text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(c.sel)))
			if err != nil || !strings.Contains(text, c.text) {
				t.Errorf("%s at %s: %q (%v) has no %q", c.path, w.name, text, err, c.text)
			}
			n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("script,img,iframe,object,embed").length`))
			if err != nil || n != 0 {
				t.Errorf("%s at %s: %d script, img, iframe, object or embed elements (%v)", c.path, w.name, n, err)
			}
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Errorf("%s at %s: screenshot: %v", c.path, w.name, err)
				continue
			}
			name := filepath.Join(shots, fmt.Sprintf("%s-%s.png", c.name, w.name))
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	// The README's pictures (docs/ui-module.png, docs/ui-setup.png): the first screen only.
	for _, c := range []struct{ path, name string }{{"/m/example.com/web/pub", "module"}, {"/setup", "setup"}} {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1000, 640), chromedp.Navigate(s.URL+c.path),
			chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, "readme-"+c.name+".png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
	// The phone width needs no horizontal scrolling on the module page.
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/m/example.com/web/pub"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Errorf("the module page scrolls sideways at 390 px (%v)", err)
	}
	// The hostile go.mod text is shown, as text.
	gomod, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("pre.gomod")))
	if err != nil || !strings.Contains(gomod, "<script>alert(1)</script>") || !strings.Contains(gomod, "javascript:alert(3)") {
		t.Errorf("the go.mod is not shown as text: %q (%v)", gomod, err)
	}
	if d := b.ranScript(); len(d) != 0 {
		t.Errorf("script ran in the pages: dialogs %q", d)
	}

	t.Run("private module", func(t *testing.T) {
		h1 := func() string {
			t.Helper()
			if err := chromedp.Do(b.ctx, chromedp.Navigate(s.URL+"/m/"+f.priv.Path)); err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatal(err)
			}
			return text
		}
		if got := h1(); got != "Not found" {
			t.Errorf("anonymous visitor: h1 %q, want Not found", got)
		}
		token := strings.TrimPrefix(f.reader, "Authorization: ")
		if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": token}}); err != nil {
			t.Fatal(err)
		}
		if got := h1(); got != f.priv.Path {
			t.Errorf("reader: h1 %q, want %q", got, f.priv.Path)
		}
	})
}

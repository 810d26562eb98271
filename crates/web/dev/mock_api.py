#!/usr/bin/env python3
"""A canned stand-in for the Drydock API, for looking at the SPA (screenshots, manual checks)
without a database. Serves dist/ with an SPA fallback and a few /api/v1 answers.

Usage: python3 crates/web/dev/mock_api.py [port]   (run from the repo root after build-web.sh;
MOCK_SIGNED_OUT=1 answers 401 to GET /me, to see the sign-in page)
Not used by any test: the real end-to-end tests drive the real API.
"""
import difflib, json, os, sys, time
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler

DIST = os.path.join(os.getcwd(), "dist")
TASK = "3f1c2a4e-8b7d-4c1e-9f2a-0d5e6b7c8a91"
NOW = "2026-11-24T15:00:00Z"
ME = {"id": "0b0e5a8e-1111-4a4a-8a8a-222233334444", "username": "ada", "name": "Ada Lovelace",
      "is_admin": True, "auth_provider": "local", "github_connected": False, "created_at": NOW,
      "csrf_token": "csrf-demo"}

def task(tid, title, status, stage, progress):
    return {"id": tid, "title": title, "prompt": title + "\n\nKeep the public API unchanged.",
            "repo_url": "https://github.com/acme/widgets.git", "agent": "claude", "model": "claude-sonnet-4-5",
            "agent_version": "2.0.1", "status": status, "stage": stage, "progress": progress,
            "base_branch": "main", "branch_name": "drydock/add-retry-3f1c", "error": None,
            "install_dependencies": True, "max_duration_minutes": 30, "keep_alive": False, "create_pr": True,
            "pr_url": None, "pr_number": None, "created_at": NOW, "updated_at": "2026-11-24T14:00:00Z",
            "started_at": NOW, "completed_at": None}

TASKS = [task(TASK, "Add retry with backoff to the HTTP client", "processing", "running_agent", 50),
         task("5a2b3c4d-0000-4000-8000-000000000002", "Fix flaky date test", "completed", "done", 100),
         task("5a2b3c4d-0000-4000-8000-000000000003", "Upgrade to tokio 1.40", "error", "installing", 30),
         task("5a2b3c4d-0000-4000-8000-000000000004", "Document the config file", "stopped", "running_agent", 50)]

def ev(seq, kind, payload):
    return {"seq": seq, "at": NOW, "kind": kind, "payload": payload}

EVENTS = [
    ev(1, "status", {"status": "processing"}),
    ev(2, "stage", {"stage": "cloning"}),
    ev(3, "command", {"argv": ["git", "clone", "--depth", "1", "https://github.com/acme/widgets.git"], "exit_code": 0, "duration_ms": 1840}),
    ev(4, "stage", {"stage": "installing"}),
    ev(5, "command", {"argv": ["npm", "ci"], "exit_code": 0, "duration_ms": 12400}),
    ev(6, "stage", {"stage": "running_agent"}),
    ev(7, "agent_message", {"text": "I'll add a `retry` helper with **exponential backoff**:\n\n1. wrap `fetchJson`\n2. retry on 5xx and network errors\n\n```ts\nawait retry(() => fetchJson(url), { attempts: 3 })\n```"}),
    ev(8, "tool_call", {"tool": "Read", "summary": "Reading src/http/client.ts"}),
    ev(9, "tool_call", {"tool": "Edit", "summary": "Editing src/http/client.ts"}),
    ev(10, "file_change", {"path": "src/http/client.ts", "change": "modified"}),
    ev(11, "tool_call", {"tool": "Bash", "summary": "Running: npm test"}),
    ev(12, "tool_result", {"ok": False, "output": "FAIL src/http/client.test.ts\n  expected 3 calls, got 1"}),
    ev(13, "log", {"level": "warn", "message": "npm test exited with 1; the agent continues"}),
    ev(14, "error", {"message": "Test suite failed: client.test.ts"}),
    ev(15, "usage", {"input_tokens": 18234, "output_tokens": 2210, "cost_usd": 0.0874}),
]

OLD_CLIENT = "export async function fetchJson(url) {\n  const r = await fetch(url)\n  return r.json()\n}\n"
NEW_CLIENT = ("import { retry } from './retry'\n\nexport async function fetchJson(url) {\n"
              "  const r = await retry(() => fetch(url), { attempts: 3 })\n"
              "  if (!r.ok) throw new Error(`HTTP ${r.status}`)\n  return r.json()\n}\n")

def file_diff(path, old, new):
    """`GET /tasks/{id}/diff`: as the API sends it, the unified patch made on the server."""
    patch = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}", n=3))
    return {"path": path, "old_content": old, "new_content": new, "patch": patch, "binary": False, "image": False}

def changed(path, status, additions, deletions):
    return {"path": path, "status": status, "additions": additions, "deletions": deletions, "binary": False}

PRESETS = [
    {"id": "context7", "title": "Context7", "name": "context7", "description": "Up-to-date library documentation.",
     "type": "remote", "command": None, "args": [], "url": "https://mcp.context7.com/mcp", "env_keys": [], "header_keys": ["CONTEXT7_API_KEY"]},
    {"id": "playwright", "title": "Playwright", "name": "playwright", "description": "Drive a headless browser.",
     "type": "local", "command": "npx", "args": ["-y", "@playwright/mcp@latest"], "url": None, "env_keys": [], "header_keys": []},
    {"id": "browserbase", "title": "Browserbase", "name": "browserbase", "description": "Cloud browser sessions.",
     "type": "local", "command": "npx", "args": ["-y", "@browserbasehq/mcp"], "url": None,
     "env_keys": ["BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID"], "header_keys": []},
]

ROUTES = {
    "/api/v1/auth/methods": {"local": True, "setup_required": False,
                             "providers": [{"id": "github", "name": "GitHub", "login_url": "/api/v1/auth/github/login"}]},
    "/api/v1/me": ME,
    "/api/v1/me/quota": {"used": 3, "remaining": 17, "total": 20, "reset_at": "2026-11-25T00:00:00Z"},
    "/api/v1/me/tokens": {"items": [{"id": "9d7e1111-2222-4333-8444-555566667777", "name": "CI", "prefix": "dd_4f3a", "created_at": NOW, "last_used_at": None}]},
    "/api/v1/me/keys": [{"provider": "anthropic", "configured": True, "last4": "x9Qa", "base_url": None, "updated_at": NOW}],
    "/api/v1/agents": [{"id": "claude", "name": "Claude Code", "models": ["claude-sonnet-4-5", "claude-haiku-4-5"], "key_provider": "anthropic", "has_key": True, "version": "2.0.1", "available": True},
                       {"id": "codex", "name": "Codex CLI", "models": ["gpt-5.1", "gpt-5.1-codex"], "key_provider": "openai", "has_key": False, "version": "0.58.0", "available": True},
                       {"id": "cursor", "name": "Cursor CLI", "models": ["auto"], "key_provider": "cursor", "has_key": False, "version": "", "available": False}],
    "/api/v1/tasks": {"items": TASKS},
    f"/api/v1/tasks/{TASK}": TASKS[0],
    f"/api/v1/tasks/{TASK}/events": {"items": EVENTS[:10]},
    f"/api/v1/tasks/{TASK}/messages": {"items": [{"id": "aa000000-0000-4000-8000-000000000001", "role": "user", "content": TASKS[0]["prompt"], "created_at": NOW}]},
    f"/api/v1/tasks/{TASK}/changes": {"source": "branch", "base_branch": "main",
                                      "files": [changed("src/http/client.ts", "modified", 24, 3),
                                                changed("src/http/retry.ts", "added", 31, 0),
                                                changed("README.md", "modified", 2, 0)]},
    f"/api/v1/tasks/{TASK}/diff": file_diff("src/http/client.ts", OLD_CLIENT, NEW_CLIENT),
    "/api/v1/connectors/presets": PRESETS,
    "/api/v1/connectors": [{"id": "cc000000-0000-4000-8000-000000000001", "name": "context7", "type": "remote", "command": None, "args": [],
                            "url": "https://mcp.context7.com/mcp", "env_keys": [], "header_keys": [], "enabled": True, "created_at": NOW, "updated_at": NOW},
                           {"id": "cc000000-0000-4000-8000-000000000002", "name": "playwright", "type": "local", "command": "npx", "args": ["-y", "@playwright/mcp@latest"],
                            "url": None, "env_keys": [], "header_keys": [], "enabled": False, "created_at": NOW, "updated_at": NOW}],
    "/api/v1/github/owners": {"items": [{"login": "octo", "kind": "user", "name": "Octo Cat", "avatar_url": None},
                                        {"login": "acme", "kind": "organization", "name": None, "avatar_url": None}]},
    f"/api/v1/tasks/{TASK}/pull-request/comments": {"items": [
        {"id": 101, "kind": "issue", "user_login": "reviewer", "user_avatar_url": None, "body": "Could the retry count be configurable?",
         "path": None, "html_url": "https://github.com/acme/widgets/pull/12#issuecomment-101", "created_at": NOW},
        {"id": 102, "kind": "review", "user_login": "reviewer", "user_avatar_url": None, "body": "Use exponential backoff here.",
         "path": "src/http/retry.ts", "html_url": "https://github.com/acme/widgets/pull/12#discussion_r102", "created_at": NOW}]},
}


def mock_repos(query):
    """`GET /github/repos?owner=&q=&cursor=`: 25 fake repositories per owner, 10 a page."""
    from urllib.parse import parse_qs
    qs = parse_qs(query)
    owner = qs.get("owner", ["octo"])[0]
    q = qs.get("q", [""])[0].lower()
    start = int(qs.get("cursor", ["0"])[0])
    names = [n for n in (f"project-{i:02}" for i in range(25)) if q in n]
    page = names[start:start + 10]
    nxt = str(start + 10) if start + 10 < len(names) else None
    return {"items": [{"owner": owner, "name": n, "full_name": f"{owner}/{n}", "description": f"Demo repository {n}",
                       "private": i % 3 == 0, "default_branch": "main", "repo_url": f"https://github.com/{owner}/{n}.git",
                       "html_url": f"https://github.com/{owner}/{n}", "language": "Rust", "updated_at": NOW}
                      for i, n in enumerate(page)], "next_cursor": nxt}

class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=DIST, **kw)

    def log_message(self, *a):
        pass

    def send_json(self, code, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/events/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for e in EVENTS[10:]:
                time.sleep(0.2)
                self.wfile.write(f"id: {e['seq']}\ndata: {json.dumps(e)}\n\n".encode())
                self.wfile.flush()
            time.sleep(30)
            return
        if path == "/api/v1/me" and os.environ.get("MOCK_SIGNED_OUT"):
            return self.send_json(401, {"type": "about:blank", "title": "Sign-in required", "status": 401},
                                  "application/problem+json")
        if path.startswith("/api/v1/github/") and os.environ.get("MOCK_NO_GITHUB"):
            return self.send_json(422, {"type": "about:blank", "title": "Invalid input", "status": 422,
                                        "detail": "Connect a GitHub account to list repositories."},
                                  "application/problem+json")
        if path == "/api/v1/github/repos":
            return self.send_json(200, mock_repos(self.path.partition("?")[2]))
        if path in ROUTES:
            return self.send_json(200, ROUTES[path])
        if path.startswith("/api/"):
            return self.send_json(404, {"type": "about:blank", "title": "Not found", "status": 404,
                                        "detail": f"No mock for {path}"}, "application/problem+json")
        if not os.path.exists(os.path.join(DIST, path.lstrip("/"))) or path == "/":
            self.path = "/index.html"
        return super().do_GET()

    def do_POST(self):
        self.send_json(422, {"type": "about:blank", "title": "Invalid input", "status": 422,
                             "detail": "The mock API accepts no changes.", "errors": {"name": ["demo only"]}},
                       "application/problem+json")

    do_PUT = do_PATCH = do_DELETE = do_POST

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8090
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

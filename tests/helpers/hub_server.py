"""A test-only stand-in for the Hugging Face Hub's HTTP API on loopback.

The real `huggingface_hub` and `datasets` clients talk to it through `HF_ENDPOINT=http://127.0.0.1:PORT` (with
`HF_HUB_DISABLE_XET=1`, so uploads use the classic LFS protocol). It keeps repositories in memory with real history:
every commit is a snapshot of the repo's files, branches and tags point at commits, and any revision (branch, tag or
commit id) resolves to the files as they were at that commit.

Routes (model, dataset and space repos): `POST /api/repos/create`, `GET /api/{type}s/{repo}[/revision/{rev}]`,
`POST .../preupload/{rev}` (`*.parquet`, `*.arrow`, `*.safetensors`, `*.bin`, `*.gguf` go to LFS), the LFS batch
endpoint `/{repo}.git/info/lfs/objects/batch` with a `PUT` upload target, `POST .../commit/{rev}` (NDJSON),
`POST .../tag/{rev}`, `GET .../refs`, `GET .../tree/{rev}[/{path}]`, `POST .../paths-info/{rev}`,
`POST /api/validate-yaml`, and `HEAD`/`GET /[{type}s/]{repo}/resolve/{rev}/{path}`.

Recorded for tests: `authorizations` (every Authorization header seen, in order), `created` (the payloads of
`repos/create`), and per repo its commits and tags. Not covered: pagination of large trees, pull requests, branches
other than `main`, deletions of tags, gated/private read checks, Xet, multi-part LFS uploads.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.helpers.app_thread import AppThread

LFS_SUFFIXES = (".parquet", ".arrow", ".safetensors", ".bin", ".gguf")
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def oid(self) -> str:
        """What the Hub reports as `oid`: the git blob id (of the LFS pointer for LFS files)."""
        return git_blob_sha(self.pointer if self.lfs else self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()
        )

    def entry(self, path: str) -> dict:
        info = {"type": "file", "path": path, "oid": self.oid, "size": len(self.data)}
        if self.lfs:
            info["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return info


@dataclass
class Commit:
    oid: str
    files: dict[str, Blob]
    message: str
    parent: str | None
    date: float


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        oid = self.branches.get(revision) or self.tags.get(revision)
        if oid is None and revision in self.commits:
            oid = revision
        return self.commits.get(oid) if oid else None


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _not_found(what: str) -> JSONResponse:
    return _error(404, f"{what} not found", "RepoNotFound")


class HubServer(AppThread):
    name = "hub stand-in"

    def __init__(self):
        super().__init__()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_store: dict[str, bytes] = {}
        self.authorizations: list[str | None] = []
        self.created: list[dict] = []
        self._ids = itertools.count()
        self._lock = threading.RLock()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- state -------------------------------------------------------------------------------------------------

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo | None:
        return self.repos.get((repo_type, repo_id))

    def _commit(self, repo: Repo, files: dict[str, Blob], message: str, branch: str = "main") -> Commit:
        parent = repo.branches.get(branch)
        seed = f"{repo.repo_id}:{parent}:{message}:{next(self._ids)}".encode()
        commit = Commit(hashlib.sha1(seed).hexdigest(), files, message, parent, time.time())
        repo.commits[commit.oid] = commit
        repo.branches[branch] = commit.oid
        return commit

    def _url(self, repo: Repo) -> str:
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return f"{self.endpoint}/{prefix}{repo.repo_id}"

    # --- the app -----------------------------------------------------------------------------------------------

    def _app(self) -> FastAPI:  # noqa: C901 - one closure per route reads best here
        app = FastAPI()

        @app.middleware("http")
        async def record_auth(request: Request, call_next):
            self.authorizations.append(request.headers.get("authorization"))
            return await call_next(request)

        def lookup(kind: str, ns: str, name: str) -> Repo | None:
            return self.repos.get((kind.removesuffix("s"), f"{ns}/{name}"))

        @app.post("/api/repos/create")
        async def create(request: Request):
            body = await request.json()
            self.created.append(body)
            repo_type = body.get("type") or "model"
            repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
            with self._lock:
                if (repo_type, repo_id) in self.repos:
                    repo = self.repos[(repo_type, repo_id)]
                    return JSONResponse({"error": "You already created this repo", "url": self._url(repo)}, 409)
                private = body.get("visibility") == "private" or bool(body.get("private"))
                repo = self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
                self._commit(repo, {".gitattributes": Blob(GITATTRIBUTES, False)}, "initial commit")
            return {"url": self._url(repo), "name": repo_id}

        @app.get("/api/whoami-v2")
        async def whoami(request: Request):
            if not request.headers.get("authorization"):
                return _error(401, "Invalid credentials in Authorization header")
            return {"type": "user", "name": "test-user", "auth": {"accessToken": {"role": "write"}}}

        @app.post("/api/validate-yaml")
        async def validate_yaml(request: Request):
            await request.body()
            return {"errors": [], "warnings": []}

        @app.get("/api/{kind}/{ns}/{name}")
        @app.get("/api/{kind}/{ns}/{name}/revision/{revision:path}")
        async def info(kind: str, ns: str, name: str, revision: str = "main"):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            commit = repo.resolve(revision)
            if commit is None:
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return {
                "_id": repo.repo_id,
                "id": repo.repo_id,
                "author": ns,
                "sha": commit.oid,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit.date)),
                "createdAt": "2024-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": path} for path in sorted(commit.files)],
            }

        @app.post("/api/{kind}/{ns}/{name}/preupload/{revision}")
        async def preupload(kind: str, ns: str, name: str, revision: str, request: Request):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            commit = repo.resolve(revision)
            files = []
            for item in (await request.json())["files"]:
                lfs = item["path"].endswith(LFS_SUFFIXES)
                existing = commit.files.get(item["path"]) if commit else None
                oid = None
                if existing is not None:
                    oid = existing.sha256 if existing.lfs else existing.oid
                files.append(
                    {
                        "path": item["path"],
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False,
                        "oid": oid,
                    }
                )
            return {"files": files, "commitOid": commit.oid if commit else None}

        @app.post("/{repo_path:path}.git/info/lfs/objects/batch")
        async def lfs_batch(repo_path: str, request: Request):
            body = await request.json()
            objects = []
            for obj in body["objects"]:
                answer = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in self.lfs_store:
                    answer["actions"] = {"upload": {"href": f"{self.endpoint}/lfs-upload/{obj['oid']}"}}
                objects.append(answer)
            return JSONResponse({"transfer": "basic", "objects": objects}, media_type="application/vnd.git-lfs+json")

        @app.put("/lfs-upload/{oid}")
        async def lfs_upload(oid: str, request: Request):
            data = await request.body()
            if hashlib.sha256(data).hexdigest() != oid:
                return _error(400, f"uploaded content does not match oid {oid}")
            self.lfs_store[oid] = data
            return Response(status_code=200)

        @app.post("/api/{kind}/{ns}/{name}/commit/{revision}")
        async def commit(kind: str, ns: str, name: str, revision: str, request: Request):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            branch = unquote(revision)
            if branch not in repo.branches:
                return _error(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
            with self._lock:
                head = repo.commits[repo.branches[branch]]
                files = dict(head.files)
                message = "commit"
                for line in lines:
                    key, value = line["key"], line["value"]
                    if key == "header":
                        message = value["summary"]
                        parent = value.get("parentCommit")
                        if parent and parent != head.oid:
                            return _error(412, "A commit has happened since. Please refresh and try again.")
                    elif key == "file":
                        files[value["path"]] = Blob(base64.b64decode(value["content"]), False)
                    elif key == "lfsFile":
                        if value["oid"] not in self.lfs_store:
                            return _error(422, f"LFS object {value['oid']} was not uploaded")
                        files[value["path"]] = Blob(self.lfs_store[value["oid"]], True)
                    elif key == "deletedFile":
                        if files.pop(value["path"], None) is None:
                            return _error(404, "A file with this name doesn't exist", "EntryNotFound")
                    elif key == "deletedFolder":
                        prefix = value["path"].rstrip("/") + "/"
                        files = {p: b for p, b in files.items() if not p.startswith(prefix)}
                    else:
                        return _error(400, f"unsupported commit operation {key!r}")
                new = self._commit(repo, files, message, branch)
            return {"commitUrl": f"{self._url(repo)}/commit/{new.oid}", "commitOid": new.oid, "pullRequestUrl": None}

        @app.post("/api/{kind}/{ns}/{name}/tag/{revision}")
        async def tag(kind: str, ns: str, name: str, revision: str, request: Request):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            commit = repo.resolve(revision)
            if commit is None:
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            name_ = (await request.json())["tag"]
            with self._lock:
                if name_ in repo.tags or name_ in repo.branches:
                    return _error(409, f"Tag {name_} already exists")
                repo.tags[name_] = commit.oid
            return {}

        @app.get("/api/{kind}/{ns}/{name}/refs")
        async def refs(kind: str, ns: str, name: str):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")

            def listing(refs: dict[str, str], prefix: str) -> list[dict]:
                return [{"name": n, "ref": f"refs/{prefix}/{n}", "targetCommit": oid} for n, oid in refs.items()]

            return {"branches": listing(repo.branches, "heads"), "tags": listing(repo.tags, "tags"), "converts": []}

        @app.get("/api/{kind}/{ns}/{name}/tree/{revision}")
        @app.get("/api/{kind}/{ns}/{name}/tree/{revision}/{path:path}")
        async def tree(kind: str, ns: str, name: str, revision: str, path: str = "", recursive: str = "false"):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            commit = repo.resolve(revision)
            if commit is None:
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            path = path.strip("/")
            prefix = f"{path}/" if path else ""
            if path and path in commit.files:
                return [commit.files[path].entry(path)]
            entries, folders = [], set()
            for file_path, blob in sorted(commit.files.items()):
                if not file_path.startswith(prefix):
                    continue
                parts = file_path[len(prefix) :].split("/")
                for depth in range(1, len(parts)):
                    folders.add(prefix + "/".join(parts[:depth]))
                if len(parts) == 1 or recursive.lower() == "true":
                    entries.append(blob.entry(file_path))
            if path and not entries and not folders:
                return _error(404, f"Entry {path} not found", "EntryNotFound")
            if recursive.lower() != "true":
                folders = {f for f in folders if "/" not in f[len(prefix) :]}
            entries += [{"type": "directory", "path": f, "oid": git_blob_sha(f.encode()), "size": 0} for f in folders]
            return sorted(entries, key=lambda e: e["path"])

        @app.post("/api/{kind}/{ns}/{name}/paths-info/{revision}")
        async def paths_info(kind: str, ns: str, name: str, revision: str, request: Request):
            repo = lookup(kind, ns, name)
            if repo is None:
                return _not_found(f"Repository {ns}/{name}")
            commit = repo.resolve(revision)
            if commit is None:
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            raw = (await request.body()).decode()
            if request.headers.get("content-type", "").startswith("application/json"):
                paths = json.loads(raw).get("paths", [])
            else:
                paths = parse_qs(raw).get("paths", [])
            answer = []
            for path in paths:
                path = path.strip("/")
                if path in commit.files:
                    answer.append(commit.files[path].entry(path))
                elif any(p.startswith(path + "/") for p in commit.files):
                    answer.append({"type": "directory", "path": path, "oid": git_blob_sha(path.encode()), "size": 0})
            return answer

        async def resolve(repo: Repo | None, revision: str, path: str, request: Request):
            if repo is None:
                return _not_found("Repository")
            commit = repo.resolve(revision)
            if commit is None:
                return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            blob = commit.files.get(path)
            if blob is None:
                response = _error(404, f"Entry {path} not found", "EntryNotFound")
                response.headers["X-Repo-Commit"] = commit.oid
                return response
            headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{blob.oid}"', "Accept-Ranges": "bytes"}
            if blob.lfs:
                headers["X-Linked-Etag"] = f'"{blob.sha256}"'
                headers["X-Linked-Size"] = str(len(blob.data))
            if request.method == "HEAD":
                headers["Content-Length"] = str(len(blob.data))
                return Response(status_code=200, headers=headers)
            return Response(blob.data, headers=headers, media_type="application/octet-stream")

        @app.api_route("/{kind}/{ns}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
        async def resolve_typed(kind: str, ns: str, name: str, revision: str, path: str, request: Request):
            if kind not in ("datasets", "spaces"):
                return _not_found("Repository")
            return await resolve(lookup(kind, ns, name), revision, path, request)

        @app.api_route("/{ns}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
        async def resolve_model(ns: str, name: str, revision: str, path: str, request: Request):
            return await resolve(self.repos.get(("model", f"{ns}/{name}")), revision, path, request)

        return app

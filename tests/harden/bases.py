"""FROM-scratch stand-ins for alpine, debian, ubuntu and distroless bases, with fake package managers.

The fake tools behave like the real ones where hardening is judged: `apt-get install` fails until
`apt-get update` filled the lists, `apk add` without `--no-cache` and `pip install` without
`--no-cache-dir` leave caches behind, compilers show up in the filesystem, user tools write /etc/passwd,
and every "app" (python, node, java, a Go binary) is busybox httpd serving its directory; python -c and
node -e health probes fetch the URL their code names with busybox wget.
"""

from __future__ import annotations

import docker

from tests.fixtures.images import FileSpec, build_image, busybox_files

X = 0o755


def _script(body: str) -> FileSpec:
    return FileSpec(("#!/bin/sh\n" + body).encode(), X)


_INSTALL_PACKAGE = r"""
install_pkg() {
  case "$1" in
    gcc|g++|make|build-essential|build-base|musl-dev|*-dev|golang|openjdk-*-jdk)
      for t in gcc cc make; do printf '#!/bin/sh\necho fake compiler\n' > /usr/bin/$t; chmod 755 /usr/bin/$t; done ;;
    curl) cp /usr/local/share/fake/curl /usr/bin/curl ;;
    wget) ln -sf /bin/busybox /usr/bin/wget ;;
  esac
  mkdir -p /usr/share/doc/"$1"
  if [ -f /var/lib/dpkg/status ]; then
    printf 'Package: %s\nStatus: install ok installed\nVersion: 1.0\n\n' "$1" >> /var/lib/dpkg/status
  fi
}
"""

APT_GET = _script(
    _INSTALL_PACKAGE
    + r"""
cmd=""; recommends=1; pkgs=""
for a in "$@"; do
  case "$a" in
    --no-install-recommends) recommends=0 ;;
    -*) ;;
    update|install|upgrade|clean|dist-upgrade|remove|purge|autoremove) [ -z "$cmd" ] && cmd=$a || pkgs="$pkgs $a" ;;
    *) pkgs="$pkgs $a" ;;
  esac
done
case "$cmd" in
  update) mkdir -p /var/lib/apt/lists && head -c 4096 /dev/zero > /var/lib/apt/lists/deb.debian.org_InRelease ;;
  install)
    if [ -z "$(ls /var/lib/apt/lists 2>/dev/null)" ]; then
      for p in $pkgs; do echo "E: Unable to locate package $p" >&2; done; exit 100
    fi
    for p in $pkgs; do install_pkg "$p"; [ $recommends = 1 ] && install_pkg "$p-recommended-extra"; done ;;
  clean) rm -rf /var/cache/apt/archives/* ;;
esac
exit 0
"""
)

APK = _script(
    _INSTALL_PACKAGE
    + r"""
cmd=""; cache=1; pkgs=""
for a in "$@"; do
  case "$a" in
    --no-cache) cache=0 ;;
    -*) ;;
    add|update|upgrade|del) [ -z "$cmd" ] && cmd=$a || pkgs="$pkgs $a" ;;
    *) pkgs="$pkgs $a" ;;
  esac
done
case "$cmd" in
  update) mkdir -p /var/cache/apk && head -c 4096 /dev/zero > /var/cache/apk/APKINDEX.tar.gz ;;
  add)
    [ $cache = 1 ] && mkdir -p /var/cache/apk && head -c 4096 /dev/zero > /var/cache/apk/APKINDEX.tar.gz
    for p in $pkgs; do install_pkg "$p"; echo "P:$p" >> /lib/apk/db/installed; done ;;
esac
exit 0
"""
)

PIP = _script(r"""
[ "$1" = "install" ] || exit 0
cache=1
for a in "$@"; do [ "$a" = "--no-cache-dir" ] && cache=0; done
[ -n "$PIP_NO_CACHE_DIR" ] && cache=0
[ $cache = 1 ] && mkdir -p /root/.cache/pip/http && head -c 4096 /dev/zero > /root/.cache/pip/http/wheel
mkdir -p /usr/local/lib/python3/site-packages && touch /usr/local/lib/python3/site-packages/installed
exit 0
""")

PROBE = r"""
# `-c`/`-e` health probes (python http.client, node http.get): request the URL in the code with busybox wget.
if [ "$1" = "-c" ] || [ "$1" = "-e" ]; then
  url=$(printf '%s' "$2" | grep -o "http://[^'\"]*" | head -n 1)
  exec wget -q -O /dev/null "$url"
fi
"""

PYTHON = _script(
    PROBE
    + r"""
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then shift 2; exec pip "$@"; fi
dir=$(dirname "${1:-/app/app.py}")
exec httpd -f -p "${PORT:-8000}" -h "$dir"
"""
)

NODE = _script(
    PROBE
    + r"""
dir=$(dirname "${1:-/app/server.js}")
exec httpd -f -p "${PORT:-3000}" -h "$dir"
"""
)

NPM = _script(r"""
case "$1" in
  ci|install|i) mkdir -p /root/.npm/_cacache node_modules && head -c 4096 /dev/zero > /root/.npm/_cacache/index
                echo '{}' > node_modules/.package-lock.json ;;
  cache) rm -rf /root/.npm/_cacache ;;
  run) exit 0 ;;
esac
exit 0
""")

GO = _script(r"""
# `go build -o OUT` makes a static "server": busybox, named httpd so it runs that applet.
[ "$1" = "build" ] || exit 0
out=app
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out=$2; shift; done
mkdir -p "$(dirname "$out")" && cp /bin/busybox "$out"
""")

JAVA = _script(r"""
jar=/app/app.jar
while [ $# -gt 0 ]; do [ "$1" = "-jar" ] && jar=$2; shift; done
exec httpd -f -p "${PORT:-8080}" -h "$(dirname "$jar")"
""")

MVN = _script(r"""
mkdir -p target && echo "fake jar" > target/app.jar
""")

CURL = _script(r"""
out=-; url=""
while [ $# -gt 0 ]; do
  case "$1" in -o) out=$2; shift ;; -*) ;; *) url=$1 ;; esac; shift
done
exec wget -q -O "$out" "$url"
""")

# shadow-utils and busybox-style user tools, enough for the flags hardening and Dockerfiles use.
USERADD = _script(r"""
uid=""; group=""; name=""
while [ $# -gt 0 ]; do
  case "$1" in -u|--uid) uid=$2; shift ;; -g|--gid) group=$2; shift ;; -s|-d|-c|-G) shift ;; -*) ;; *) name=$1 ;; esac
  shift
done
[ -n "$uid" ] || uid=$(( $(wc -l < /etc/passwd) + 1000 ))
gid=$(awk -F: -v g="${group:-$name}" '$1==g {print $3}' /etc/group)
[ -n "$gid" ] || { gid=$uid; echo "$name:x:$gid:" >> /etc/group; }
echo "$name:x:$uid:$gid::/home/$name:/sbin/nologin" >> /etc/passwd
""")

GROUPADD = _script(r"""
gid=""; name=""
while [ $# -gt 0 ]; do case "$1" in -g|--gid) gid=$2; shift ;; -*) ;; *) name=$1 ;; esac; shift; done
[ -n "$gid" ] || gid=$(( $(wc -l < /etc/group) + 1000 ))
echo "$name:x:$gid:" >> /etc/group
""")

ADDUSER = _script(r"""
uid=""; group=""; name=""
while [ $# -gt 0 ]; do
  case "$1" in -u) uid=$2; shift ;; -G) group=$2; shift ;; -s|-h|-g) shift ;; -*) ;; *) name=$1 ;; esac; shift
done
[ -n "$uid" ] || uid=$(( $(wc -l < /etc/passwd) + 1000 ))
gid=$(awk -F: -v g="${group:-$name}" '$1==g {print $3}' /etc/group)
[ -n "$gid" ] || { gid=$uid; echo "$name:x:$gid:" >> /etc/group; }
echo "$name:x:$uid:$gid::/home/$name:/sbin/nologin" >> /etc/passwd
""")

ADDGROUP = _script(r"""
gid=""; name=""
while [ $# -gt 0 ]; do case "$1" in -g) gid=$2; shift ;; -*) ;; *) name=$1 ;; esac; shift; done
[ -n "$gid" ] || gid=$(( $(wc -l < /etc/group) + 1000 ))
echo "$name:x:$gid:" >> /etc/group
""")

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"

SHELL_BASE = """\
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY root/ /
RUN mkdir -p /tmp /root /usr/bin /usr/sbin /usr/local/bin && chmod 1777 /tmp && ln -sf /bin/busybox /usr/bin/wget
CMD ["sh"]
"""

TOOLS = {
    "usr/local/bin/python": PYTHON,
    "usr/local/bin/python3": PYTHON,
    "usr/local/bin/pip": PIP,
    "usr/local/bin/pip3": PIP,
    "usr/local/bin/node": NODE,
    "usr/local/bin/npm": NPM,
    "usr/local/bin/java": JAVA,
    "usr/local/bin/mvn": MVN,
    "usr/local/share/fake/curl": CURL,
}


def _root(files: dict[str, FileSpec | bytes]) -> dict[str, FileSpec | bytes]:
    return {**busybox_files(), **{f"root/{k}": v for k, v in files.items()}}


def alpine_files() -> dict[str, FileSpec | bytes]:
    """An alpine-like root: os-release, apk and its db, busybox-style adduser/addgroup."""
    return {
        "etc/os-release": b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n',
        "etc/alpine-release": b"3.19.1\n",
        "etc/passwd": PASSWD,
        "etc/group": GROUP,
        "lib/apk/db/installed": b"P:busybox\nV:1.36.1-r15\n\n",
        "sbin/apk": APK,
        "usr/sbin/adduser": ADDUSER,
        "usr/sbin/addgroup": ADDGROUP,
        **TOOLS,
    }


def debian_files(os_id: str = "debian", version: str = "12") -> dict[str, FileSpec | bytes]:
    """A debian-like (or ubuntu-like) root: os-release, dpkg status, apt-get, useradd/groupadd."""
    like = "" if os_id == "debian" else "ID_LIKE=debian\n"
    return {
        "etc/os-release": f'NAME="{os_id}"\nID={os_id}\n{like}VERSION_ID="{version}"\n'
        f'PRETTY_NAME="{os_id.title()} {version}"\n'.encode(),
        "etc/passwd": PASSWD,
        "etc/group": GROUP,
        "var/lib/dpkg/status": b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n",
        "usr/bin/apt-get": APT_GET,
        "usr/sbin/useradd": USERADD,
        "usr/sbin/groupadd": GROUPADD,
        **TOOLS,
    }


GO_PATH = "/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DISTROLESS = """\
FROM scratch
COPY root/ /
CMD ["/nonexistent"]
"""


def distroless_files() -> dict[str, FileSpec | bytes]:
    """No shell, no package manager: passwd with nonroot 65532 and a Distroless os-release."""
    return {
        "root/etc/os-release": b'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n',
        "root/etc/passwd": b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:"
        b"/sbin/nologin\n",
        "root/etc/group": b"root:x:0:\nnonroot:x:65532:\n",
        "root/var/lib/dpkg/status.d/base": b"Package: base-files\nVersion: 12.4\n",
        "root/tmp/.keep": b"",
    }


def build_bases(client: docker.DockerClient) -> dict[str, str]:
    """Build (or reuse) every stand-in base; keys are the names corpus Dockerfiles use in `FROM {name}`."""
    bases = {
        "alpine": build_image(client, "h-alpine", SHELL_BASE, _root(alpine_files())),
        "debian": build_image(client, "h-debian", SHELL_BASE, _root(debian_files())),
        "ubuntu": build_image(client, "h-ubuntu", SHELL_BASE, _root(debian_files("ubuntu", "24.04"))),
        "distroless": build_image(client, "h-distroless", DISTROLESS, distroless_files()),
    }
    golang = f"FROM {bases['debian']}\nCOPY go /usr/local/go/bin/go\nENV PATH={GO_PATH}\n"
    bases["golang"] = build_image(client, "h-golang", golang, {"go": GO})
    return bases

"""Real-world patterns met on the second held-out set (December 2026): servers named only inside a start script,
Java servers run with `java -jar`, `npm start` scripts and supervisord-run Python apps.

Files of our own reproducing patterns met in public Dockerfiles; none is copied from those repositories.
"""

from __future__ import annotations

from tests.realworld.model import ALPINE, KEEP, NO_HEALTHCHECK, Case, Probe, Runtime, dockerfile

SCRIPT_SERVER = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port (exposed, and the server is known to serve HTTP "
    "there): an entrypoint script read from the build context that starts one known server counts, when the "
    "Dockerfile exposes its port"
)
SCRIPT_UNSURE = (
    "harden.md HEALTHCHECK: otherwise no HEALTHCHECK instruction: a script that can start two different servers, or "
    "whose server listens on a port the Dockerfile does not expose, does not say which port this image serves"
)
NODE_LISTENER = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port (the app is known to serve HTTP there): the Node "
    "script the command runs loads express or node's http module (itself, or in the app module it requires) and "
    "listens on one port it names; a port it reads from elsewhere is not known"
)
PROCFILE_WEB = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port: foreman (or honcho) runs the Procfile, whose "
    "first process, web, starts rails server on $PORT, which the Dockerfile sets and exposes"
)
NPM_SCRIPT = (
    "harden.md HEALTHCHECK: `npm start` runs the package.json script; create-react-app's `react-scripts start` "
    "serves HTTP on 3000 by default, and node can do the request"
)
SUPERVISOR_PYTHON = (
    "harden.md HEALTHCHECK: supervisord is a Python program that runs the app's server; an HTTP framework in the "
    "requirements it copies in and a single exposed port make that port HTTP, as for `python app.py`"
)

MOVED_LISTEN = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port: Apache's `Listen` (nginx's `listen`) moved by "
    "a `sed` of the configuration its base or package installed is the port it serves; a configuration copied over "
    "the edited one afterwards decides the port itself, so the move no longer counts"
)

INSTALLED_APP = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port: a self-hosted app the file installs (ghost-cli's "
    "`ghost install`, a gitea binary) whose start command does not name it (an entrypoint, s6, `node`) serves HTTP "
    "on its documented port, trusted only when the Dockerfile exposes that port"
)

PACKAGED_WEB_SERVER = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port: nginx or Apache from the distribution's packages "
    "serves HTTP on 80 with its packaged configuration; started by s6 or an entrypoint that starts no server of its "
    "own, or last in a shell-form CMD, it is the image's server when the Dockerfile exposes 80"
)
CONFIGURED_SERVER = (
    "harden.md HEALTHCHECK: puma and gunicorn speak only HTTP; when a config file the build cannot read sets the "
    "port, the one port the Dockerfile exposes is theirs, and the image's own Ruby can do the request"
)

S6_HANDOVER = """#!/bin/bash
# Certificates and data ownership, then s6 supervises nginx and php-fpm.
chown -R nginx:nginx /var/www/app/data
exec /bin/s6-svscan /etc/services.d
"""

JAR_START = """#!/bin/sh
# Root-free start: JVM options from the environment, then the server.
JAVA_OPTS="${JAVA_OPTS} -XX:+IgnoreUnrecognizedVMOptions"
exec /bin/sh -c "exec java $JAVA_OPTS -jar /app/metabase.jar $@"
"""

ARRAY_START = """#!/bin/bash
set -e
DEFAULT_CMD=('/opt/java/openjdk/bin/java' '-jar' 'lib/sonarqube.jar' '-Dsonar.log.console=true')
# Flags only: run the server with them.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- "${DEFAULT_CMD[@]}" "$@"
fi
exec "$@"
"""

TWO_SERVERS = """#!/bin/sh
if [ "$MODE" = "static" ]; then
    exec nginx -g 'daemon off;'
fi
exec gunicorn -b 0.0.0.0:8000 app:app
"""

UNEXPOSED = """#!/bin/sh
exec gunicorn --bind 0.0.0.0:8000 app:app
"""

HTTPD_START = """#!/bin/sh
# Set-up that needs no root, then the server in the foreground.
echo "starting" > /tmp/started
exec httpd -f -p 8080 -h /www
"""

SERVER_CASES: tuple[Case, ...] = (
    Case(
        name="start-script-execs-java-jar",
        pattern="an entrypoint script that sets JVM options and `exec`s `java -jar metabase.jar` through `sh -c`",
        source="metabase/metabase bin/docker/run_metabase.sh",
        text=dockerfile("""
            FROM eclipse-temurin:21-jre-alpine
            RUN apk add --no-cache curl
            COPY metabase.jar /app/metabase.jar
            COPY run_metabase.sh /app/run_metabase.sh
            USER 2000
            EXPOSE 3000
            ENTRYPOINT ["/app/run_metabase.sh"]
            """),
        files={"metabase.jar": "not a real jar\n", "run_metabase.sh": JAR_START},
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("curl",), 3000),
        cites=(SCRIPT_SERVER,),
    ),
    Case(
        name="start-script-default-command-array",
        pattern="an entrypoint keeping the server's command line in a bash array (`DEFAULT_CMD=(java -jar ...)`)",
        source="SonarSource/docker-sonarqube entrypoint.sh",
        text=dockerfile("""
            FROM eclipse-temurin:17-jre-jammy
            RUN apt-get update && apt-get install -y --no-install-recommends curl bash \\
                && rm -rf /var/lib/apt/lists/* && useradd -r -u 1000 sonarqube
            COPY lib /opt/sonarqube/lib
            COPY entrypoint.sh /opt/sonarqube/docker/
            USER sonarqube
            EXPOSE 9000
            ENTRYPOINT ["/opt/sonarqube/docker/entrypoint.sh"]
            """),
        files={"lib/sonarqube.jar": "not a real jar\n", "entrypoint.sh": ARRAY_START},
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("curl",), 9000),
        cites=(SCRIPT_SERVER,),
    ),
    Case(
        name="start-script-two-servers-gets-no-probe",
        pattern="a start script that runs nginx or gunicorn depending on an environment variable",
        source="multi-mode app images (static front or API from one image)",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN apt-get update && apt-get install -y --no-install-recommends curl nginx \\
                && rm -rf /var/lib/apt/lists/*
            COPY start.sh /usr/local/bin/start.sh
            USER www-data
            EXPOSE 80 8000
            ENTRYPOINT ["start.sh"]
            """),
        files={"start.sh": TWO_SERVERS},
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(SCRIPT_UNSURE,),
    ),
    Case(
        name="start-script-server-on-unexposed-port-gets-no-probe",
        pattern="a start script whose server binds a port other than the one EXPOSE names",
        source="python app images whose EXPOSE was left from a template",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN apt-get update && apt-get install -y --no-install-recommends curl \\
                && rm -rf /var/lib/apt/lists/*
            COPY start.sh /usr/local/bin/start.sh
            USER nobody
            EXPOSE 5000
            ENTRYPOINT ["start.sh"]
            """),
        files={"start.sh": UNEXPOSED},
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        forbid_probe_ports=(5000, 8000),
        cites=(SCRIPT_UNSURE,),
    ),
    Case(
        name="npm-start-react-scripts",
        pattern="`CMD npm start` whose package.json start script is `react-scripts start`",
        source="marmelab/react-admin demo Dockerfiles; create-react-app projects",
        text=dockerfile("""
            FROM node:20-alpine
            WORKDIR /app
            COPY package.json ./
            RUN npm install
            COPY . .
            USER node
            EXPOSE 3000
            CMD ["npm", "start"]
            """),
        files={
            "package.json": '{"name": "admin", "scripts": {"start": "react-scripts start"}}\n',
            ".dockerignore": ".git\n.env\nnode_modules\n",
        },
        user=KEEP,
        healthcheck=Probe(("node", "wget"), 3000),
        cites=(NPM_SCRIPT,),
    ),
    Case(
        name="supervisord-runs-python-framework",
        pattern="a Python app image whose CMD is supervisord, with gunicorn and Django in requirements.txt",
        source="paperless-ngx (older Dockerfile), Django apps run under supervisord",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN apt-get update && apt-get install -y --no-install-recommends supervisor \\
                && rm -rf /var/lib/apt/lists/*
            COPY requirements.txt /app/
            RUN pip install --no-cache-dir -r /app/requirements.txt
            COPY supervisord.conf /etc/supervisord.conf
            USER www-data
            EXPOSE 8000
            CMD ["/usr/bin/supervisord", "-c", "/etc/supervisord.conf"]
            """),
        files={
            "requirements.txt": "Django==5.0.6\ngunicorn==22.0.0\n",
            "supervisord.conf": "[program:web]\ncommand=gunicorn -b 0.0.0.0:8000 app.wsgi\n",
        },
        user=KEEP,
        healthcheck=Probe(("python3", "python"), 8000),
        cites=(SUPERVISOR_PYTHON,),
    ),
    Case(
        name="start-script-execs-busybox-httpd-healthy",
        pattern="a start script that does its set-up and `exec`s the web server (built and run offline)",
        source="self-hosted app images whose ENTRYPOINT is an entrypoint.sh ending in `exec <server>`",
        text=dockerfile(f"""
            FROM {ALPINE}
            COPY www /www
            COPY --chmod=0755 entrypoint.sh /usr/local/bin/entrypoint.sh
            USER 1000
            EXPOSE 8080
            ENTRYPOINT ["entrypoint.sh"]
            """),
        files={"www/index.html": "<h1>ok</h1>\n", "entrypoint.sh": HTTPD_START},
        user=KEEP,
        healthcheck=Probe(("wget",), 8080),
        runtime=Runtime(uid=1000, healthy=True),
        cites=(SCRIPT_SERVER,),
    ),
    Case(
        name="ghost-cli-install-node-start",
        pattern="Ghost installed by ghost-cli in a RUN and started by `node current/index.js` behind an entrypoint",
        source="docker-library/ghost (the official image's install and start)",
        text=dockerfile("""
            FROM node:22-bookworm-slim
            RUN npm install -g ghost-cli@1.26.0 \\
                && su node -c 'ghost install 5.96.0 --db sqlite3 --no-prompt --no-stack --no-setup --dir /var/lib/ghost'
            WORKDIR /var/lib/ghost
            COPY docker-entrypoint.sh /usr/local/bin/
            ENTRYPOINT ["docker-entrypoint.sh"]
            EXPOSE 2368
            CMD ["node", "current/index.js"]
            """),
        files={"docker-entrypoint.sh": '#!/bin/sh\nset -e\nexec "$@"\n'},
        present={"DA608": "medium"},
        healthcheck=Probe(("node",), 2368),
        cites=(INSTALLED_APP,),
    ),
    Case(
        name="gitea-binary-s6-start",
        pattern="a gitea binary copied from a build stage, s6-svscan started by an entrypoint not in the context",
        source="go-gitea/gitea Dockerfile (root image: s6 runs gitea as the git user)",
        text=dockerfile("""
            FROM golang:1.23-alpine3.20 AS build-env
            RUN apk add --no-cache build-base git
            COPY . /go/src/code.gitea.io/gitea
            RUN cd /go/src/code.gitea.io/gitea && go build -o gitea .
            FROM alpine:3.20
            RUN apk add --no-cache bash ca-certificates curl git s6 su-exec
            COPY --from=build-env /go/src/code.gitea.io/gitea/gitea /app/gitea/gitea
            EXPOSE 22 3000
            ENTRYPOINT ["/usr/bin/entrypoint"]
            CMD ["/bin/s6-svscan", "/etc/s6"]
            """),
        files={".dockerignore": ".git\n"},
        present={"DA608": "medium"},
        healthcheck=Probe(("curl",), 3000),
        cites=(INSTALLED_APP,),
    ),
    Case(
        name="installed-app-on-unexposed-port-gets-no-probe",
        pattern="n8n installed with npm but the image exposes another port (a proxy in front, or N8N_PORT moved)",
        source="n8n images customised behind a reverse proxy",
        text=dockerfile("""
            FROM node:22-alpine
            RUN apk add --no-cache curl && npm install -g n8n@1.70.0
            USER node
            EXPOSE 8443
            ENTRYPOINT ["tini", "--", "/docker-entrypoint.sh"]
            """),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        forbid_probe_ports=(5678, 8443),
        cites=(INSTALLED_APP,),
    ),
    Case(
        name="packaged-nginx-under-s6",
        pattern="nginx and php-fpm from Alpine's packages, an entrypoint that chowns data and execs s6-svscan",
        source="PHP app images supervised by s6 (kanboard style)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk --no-cache --update add nginx php83-fpm s6 curl bash
            COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
            EXPOSE 80 443
            ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
            CMD []
            """),
        files={".dockerignore": ".git\n", "docker/entrypoint.sh": S6_HANDOVER},
        present={"DA608": "medium"},
        healthcheck=Probe(("curl",), 80),
        forbid_probe_ports=(443,),
        cites=(PACKAGED_WEB_SERVER,),
    ),
    Case(
        name="apache-last-in-a-shell-form-cmd",
        pattern="Apache started last in a compound shell-form CMD after an optional crond, behind an entrypoint",
        source="older FreshRSS-style alpine apache+php images",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk add --no-cache apache2 php83-apache2 tzdata
            ENTRYPOINT ["./entrypoint.sh"]
            EXPOSE 80
            CMD ([ -z "$CRON_MIN" ] || crond -d 6) && exec httpd -D FOREGROUND
            """),
        files={".dockerignore": ".git\n"},
        present={"DA608": "medium"},
        healthcheck=Probe(("wget",), 80),
        cites=(PACKAGED_WEB_SERVER,),
    ),
    Case(
        name="puma-config-file-probed-with-ruby",
        pattern="`bundle exec puma -C config/puma.rb` on ruby:alpine exposing one port, no curl",
        source="Rails app images (docuseal style)",
        text=dockerfile("""
            FROM ruby:3.3-alpine
            WORKDIR /app
            COPY Gemfile Gemfile.lock ./
            EXPOSE 3000
            CMD ["/app/bin/bundle", "exec", "puma", "-C", "/app/config/puma.rb", "--dir", "/app"]
            """),
        files={".dockerignore": ".git\n"},
        present={"DA608": "medium"},
        healthcheck=Probe(("ruby",), 3000),
        cites=(CONFIGURED_SERVER,),
    ),
    Case(
        name="express-server-js-no-expose",
        pattern='`ENTRYPOINT ["node"]` + `CMD ["server.js"]`: an express app on 3000, no EXPOSE, no package.json',
        source="hobby Express pages on node:*-alpine (e.g. personal profile sites)",
        text=dockerfile("""
            FROM node:20-alpine
            WORKDIR /usr/src/app
            COPY . .
            RUN npm install express@4.21.1
            USER node
            ENTRYPOINT ["node"]
            CMD ["server.js"]
            """),
        files={
            "server.js": (
                "const express = require('express');\nconst app = express();\n"
                "app.use(express.static('public'));\napp.listen(3000, () => console.log('listening'));\n"
            ),
            ".dockerignore": "node_modules\n",
        },
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("node", "wget"), 3000),
        cites=(NODE_LISTENER,),
    ),
    Case(
        name="index-js-listens-on-app-from-own-module",
        pattern="`CMD node src/index.js`: index.js listens on `const port = 8080`, `./app` builds the express app",
        source="hobby URL shorteners and REST APIs (Express/Mongoose) on node:*-slim",
        text=dockerfile("""
            FROM node:20-slim AS prod
            ENV NODE_ENV=production
            WORKDIR /srv
            COPY package*.json ./
            RUN npm ci --omit=dev && npm cache clean --force
            COPY . .
            USER node
            CMD ["node", "src/index.js"]
            """),
        files={
            "package.json": '{"name": "short", "dependencies": {"express": "^4.21.1", "mongoose": "^8.7.0"}}\n',
            "package-lock.json": "{}\n",
            "src/index.js": "const app = require('./app')\nconst port = 8080\napp.listen(port, () => {})\n",
            "src/app.js": "const express = require('express')\nconst app = express()\nmodule.exports = app\n",
            ".dockerignore": "node_modules\n",
        },
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("node",), 8080),
        cites=(NODE_LISTENER,),
    ),
    Case(
        name="node-port-from-config-module-gets-no-probe",
        pattern="an express app whose `listen(config.port)` takes its port from a config module",
        source="Node API servers with a config/ directory (convict, node-config)",
        text=dockerfile("""
            FROM node:20-slim
            WORKDIR /srv
            COPY . .
            USER node
            CMD ["node", "server.js"]
            """),
        files={
            "server.js": (
                "const express = require('express')\nconst config = require('./config')\n"
                "const app = express()\napp.listen(config.port)\n"
            ),
            "config.js": "module.exports = { port: Number(process.env.APP_PORT) || 7000 }\n",
            ".dockerignore": "node_modules\n",
        },
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(NODE_LISTENER,),
    ),
    Case(
        name="foreman-procfile-rails-web",
        pattern="`CMD bundle exec foreman start` running a Procfile whose web process is `rails server -p $PORT`",
        source="huginn/huginn Dockerfile and Procfile (Heroku-style Rails apps run by foreman)",
        text=dockerfile("""
            FROM ruby:3.3-alpine
            RUN apk add --no-cache curl tzdata && adduser -D -u 1000 app
            WORKDIR /app
            COPY Gemfile Gemfile.lock Procfile ./
            RUN bundle install
            COPY . .
            ENV RAILS_ENV=production PORT=3000
            USER app
            EXPOSE 3000
            CMD ["bundle", "exec", "foreman", "start"]
            """),
        files={
            "Gemfile": "source 'https://rubygems.org'\ngem 'rails', '~> 7.2'\ngem 'foreman'\n",
            "Gemfile.lock": "GEM\n",
            "Procfile": "web: bundle exec rake db:migrate && bundle exec rails server -p $PORT\njobs: bin/work\n",
            ".dockerignore": ".git\n",
        },
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("curl",), 3000),
        cites=(PROCFILE_WEB,),
    ),
    Case(
        name="php-apache-listen-moved-to-8080",
        pattern="php:apache moved from port 80 to 8080 by `sed 's/Listen 80/Listen 8080/' ports.conf` (PaaS, "
        "non-root Apache), EXPOSE 8080",
        source="solidnerd/docker-bookstack; PHP images written for Cloud Run, CloudType and OpenShift",
        text=dockerfile("""
            FROM php:8.3-apache
            RUN sed -i 's/Listen 80/Listen 8080/' /etc/apache2/ports.conf \\
                && sed -i 's/<VirtualHost \\*:80>/<VirtualHost *:8080>/' /etc/apache2/sites-available/000-default.conf
            COPY src/ /var/www/html/
            USER www-data
            EXPOSE 8080
            """),
        files={".dockerignore": ".git\n"},
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("curl",), 8080),
        forbid_probe_ports=(80,),
        cites=(MOVED_LISTEN,),
    ),
    Case(
        name="nginx-listen-moved-to-8080",
        pattern="nginx with `sed -i 's/listen  *80;/listen 8080;/' default.conf` and EXPOSE 8080 for a non-root run",
        source="static-site and SPA images made to run as the nginx user (OpenShift, Kubernetes restricted pods)",
        text=dockerfile("""
            FROM nginx:1.27
            RUN sed -i 's/listen  *80;/listen 8080;/' /etc/nginx/conf.d/default.conf
            COPY dist/ /usr/share/nginx/html/
            EXPOSE 8080
            """),
        files={".dockerignore": ".git\n"},
        present={"DA608": "medium"},
        healthcheck=Probe(("curl",), 8080),
        forbid_probe_ports=(80,),
        cites=(MOVED_LISTEN,),
    ),
    Case(
        name="apache-listen-moved-then-config-copied-over",
        pattern="Listen moved by sed, then `COPY ports.conf /etc/apache2/ports.conf` replaces the edited file",
        source="PHP app images that both patch and ship Apache configuration",
        text=dockerfile("""
            FROM php:8.3-apache
            RUN sed -i 's/Listen 80/Listen 8080/' /etc/apache2/ports.conf
            COPY docker/ports.conf /etc/apache2/ports.conf
            COPY src/ /var/www/html/
            EXPOSE 8080
            """),
        files={".dockerignore": ".git\n", "docker/ports.conf": "Listen 9000\n"},
        present={"DA608": "medium"},
        healthcheck=NO_HEALTHCHECK,
        cites=(MOVED_LISTEN,),
    ),
)

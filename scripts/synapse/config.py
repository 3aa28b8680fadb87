"""Writes and checks the test homeserver's configuration (used by scripts/synapse/start).

    config.py write DIR VARIANT   new homeserver.yaml on a free 127.0.0.1 port
    config.py verify DIR          parse it with Synapse and check every rate limit we set took effect
    config.py port|secret|variant DIR
"""

import json
import os
import secrets
import socket
import sys

import yaml

SERVER_NAME = "fabrique.test"

# Rate limits, as Synapse's config reads them. "high" is for ordinary tests: dozens of users and
# messages per second must never hit a limit. "ratelimited" lowers only rc_message.
HIGH = {"per_second": 1000, "burst_count": 10000}
RATE_LIMITS = {
    "default": {
        "rc_message": HIGH,
        "rc_registration": HIGH,
        "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
        "rc_joins": {"local": HIGH, "remote": HIGH},
        "rc_joins_per_room": HIGH,
        "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
        "rc_room_creation": HIGH,
        "rc_admin_redaction": HIGH,
        "rc_presence": {"per_user": HIGH},
        "rc_profile": HIGH,
    },
}
RATE_LIMITS["ratelimited"] = dict(RATE_LIMITS["default"], rc_message={"per_second": 0.5, "burst_count": 3})

# How each key above shows up on Synapse's parsed config object.
PARSED = {
    ("rc_message",): "rc_message",
    ("rc_registration",): "rc_registration",
    ("rc_login", "address"): "rc_login_address",
    ("rc_login", "account"): "rc_login_account",
    ("rc_login", "failed_attempts"): "rc_login_failed_attempts",
    ("rc_joins", "local"): "rc_joins_local",
    ("rc_joins", "remote"): "rc_joins_remote",
    ("rc_joins_per_room",): "rc_joins_per_room",
    ("rc_invites", "per_room"): "rc_invites_per_room",
    ("rc_invites", "per_user"): "rc_invites_per_user",
    ("rc_invites", "per_issuer"): "rc_invites_per_issuer",
    ("rc_room_creation",): "rc_room_creation",
    ("rc_admin_redaction",): "rc_admin_redaction",
    ("rc_presence", "per_user"): "rc_presence_per_user",
    ("rc_profile",): "rc_profile",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(directory, variant):
    port = free_port()
    config = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": os.path.join(directory, "homeserver.synapse-pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": os.path.join(directory, "homeserver.db")}},
        "log_config": os.path.join(directory, "log.yaml"),
        "media_store_path": os.path.join(directory, "media"),
        "signing_key_path": os.path.join(directory, "signing.key"),
        "report_stats": False,
        "enable_registration": False,
        "registration_shared_secret": secrets.token_hex(24),
        "macaroon_secret_key": secrets.token_hex(24),
        "form_secret": secrets.token_hex(24),
        # No network: never fetch keys from other servers, never federate, no URL previews.
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        "enable_metrics": False,
        "presence": {"enabled": False},
        "fabrique_variant": variant,
        **RATE_LIMITS[variant],
    }
    log = {
        "version": 1,
        "formatters": {"precise": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": os.path.join(directory, "homeserver.log"),
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }
    with open(os.path.join(directory, "log.yaml"), "w") as f:
        yaml.safe_dump(log, f)
    path = os.path.join(directory, "homeserver.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.chmod(path, 0o600)


def load(directory):
    with open(os.path.join(directory, "homeserver.yaml")) as f:
        return yaml.safe_load(f)


def verify(directory):
    from synapse.config.homeserver import HomeServerConfig

    raw = load(directory)
    parsed = HomeServerConfig.load_config("fabrique-test", ["--config-path", os.path.join(directory, "homeserver.yaml")])
    limits = parsed.ratelimiting
    problems = []
    for keys, attribute in PARSED.items():
        wanted = raw
        for key in keys:
            wanted = (wanted or {}).get(key)
        if wanted is None:
            problems.append(f"{'.'.join(keys)} is not in homeserver.yaml")
            continue
        got = getattr(limits, attribute, None)
        if got is None:
            problems.append(f"Synapse has no setting {attribute}")
            continue
        if (float(got.per_second), float(got.burst_count)) != (float(wanted["per_second"]), float(wanted["burst_count"])):
            problems.append(
                f"{'.'.join(keys)}: wrote {wanted}, Synapse reads per_second={got.per_second} burst_count={got.burst_count}"
            )
    listener = parsed.server.listeners[0]
    if list(listener.bind_addresses) != ["127.0.0.1"]:
        problems.append(f"listener binds {listener.bind_addresses}, not only 127.0.0.1")
    if parsed.registration.enable_registration:
        problems.append("open registration is on")
    if problems:
        sys.exit("synapse/config.py: the configuration does not say what we meant:\n  " + "\n  ".join(problems))


def main():
    command, directory = sys.argv[1], sys.argv[2]
    if command == "write":
        write(directory, sys.argv[3])
    elif command == "verify":
        verify(directory)
    elif command == "port":
        print(load(directory)["listeners"][0]["port"])
    elif command == "secret":
        print(load(directory)["registration_shared_secret"])
    elif command == "variant":
        print(load(directory).get("fabrique_variant", "default"))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()

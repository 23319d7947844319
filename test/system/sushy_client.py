"""Drives one BMC with python3-sushy the way OpenStack Ironic's redfish driver does.

Run with Debian's interpreter (/usr/bin/python3): a pyenv or venv python does not see
/usr/lib/python3/dist-packages, where the python3-sushy package lives.

    /usr/bin/python3 sushy_client.py --url URL --username U --password P
        [--verify true|false|<CA file>] [--system PATH] [--end release|exit]
        [--follow-tasks] [--power-deadline SECONDS]

Prints one JSON document on stdout; sushy's own warnings go to stderr. Exit status 0 when
every step worked, 1 when one raised (the JSON names the step and what sushy raised), 2
when sushy cannot be imported.
"""

import argparse
import gc
import json
import logging
import sys
import time
import weakref

try:
    import sushy
    from sushy import exceptions as sushy_exceptions
except ImportError as error:
    print(json.dumps({"ok": False, "step": "import", "python": sys.executable,
                      "error": {"type": "ImportError", "message": str(error)}}))
    sys.exit(2)


def parse_verify(text):
    if text == "true":
        return True
    if text == "false":
        return False
    return text


def value(member):
    """Redfish's spelling: sushy >= 4 hands out enum members, older releases strings."""
    return getattr(member, "value", member)


def boot_of(system):
    return {"target": value(system.boot.target), "enabled": value(system.boot.enabled),
            "mode": value(system.boot.mode)}


def describe(error):
    out = {"type": type(error).__name__, "message": str(error)}
    status = getattr(error, "status_code", None)
    if status is not None:
        out["status"] = status
    return out


def auth_of(auth):
    # sushy has no public way to say whether it settled on a session or fell back to Basic.
    uri = auth.get_session_resource_id()
    return {"kind": "session" if auth.get_session_key() else "basic", "sessionUri": uri}


def follow_tasks(conn):
    """Makes sushy's high-level calls wait on 202 + task with sushy's own TaskMonitor.

    Its Reset and boot PATCH never pass blocking=True, so a BMC answering with a task is
    not waited for (Ironic polls the power state instead). This is the Connector path
    sushy offers for waiting.
    """
    post, patch = conn.post, conn.patch
    conn.post = lambda path="", data=None, **kw: post(path, data=data, blocking=True, **kw)
    conn.patch = lambda path="", data=None, **kw: patch(path, data=data, blocking=True, **kw)


def drive(args, result):
    """Every step of one power-on with one-time PXE; returns the Sushy root, or None."""
    step = "connect"
    root = None
    try:
        root = sushy.Sushy(args.url, username=args.username, password=args.password,
                           verify=parse_verify(args.verify))
        result["redfishVersion"] = root.redfish_version
        result["auth"] = auth_of(root._auth)
        if args.follow_tasks:
            follow_tasks(root._conn)

        step = "list systems"
        result["systems"] = list(root.get_system_collection().members_identities)

        step = "get system"
        # Like our client (quirk 16), sushy refuses to pick one of several by itself.
        identity = args.system
        if identity is None and len(result["systems"]) > 1:
            identity = result["systems"][0]
        system = root.get_system(identity)
        result["system"] = {"path": system.path, "identity": system.identity, "uuid": system.uuid}

        step = "read power state"
        result["powerBefore"] = value(system.power_state)
        result["bootBefore"] = boot_of(system)
        result["allowedBootSources"] = sorted(value(v) for v in system.get_allowed_system_boot_source_values())
        result["allowedResets"] = sorted(value(v) for v in system.get_allowed_reset_system_values())

        step = "set boot source"
        system.set_system_boot_source(sushy.BOOT_SOURCE_TARGET_PXE,
                                      enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
                                      mode=sushy.BOOT_SOURCE_MODE_UEFI)
        system.refresh()
        result["bootAfterSet"] = boot_of(system)

        step = "power on"
        system.reset_system(sushy.RESET_ON)
        # sushy returns as soon as the BMC accepts; Ironic then polls the power state.
        deadline = time.monotonic() + args.power_deadline
        polls = 0
        while True:
            system.refresh()
            polls += 1
            if value(system.power_state) == "On" or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        result["powerAfter"] = value(system.power_state)
        result["powerPolls"] = polls
        result["bootAfterPowerOn"] = boot_of(system)
        result["ok"] = True
    except sushy_exceptions.SushyError as error:
        result["step"] = step
        result["error"] = describe(error)
    except Exception as error:  # anything else is reported in the JSON, not as a traceback
        result["step"] = step
        result["error"] = describe(error)
    return root


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--verify", default="true")
    parser.add_argument("--system", help="a system's path; default: the only one, else the first")
    # release: drop the Sushy object and collect it, as Ironic's connection cache does on
    # eviction; exit: keep it until the interpreter ends, as a one-shot script does.
    parser.add_argument("--end", choices=["release", "exit"], default="release")
    parser.add_argument("--follow-tasks", action="store_true")
    parser.add_argument("--power-deadline", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="sushy %(levelname)s %(name)s: %(message)s")

    result = {"ok": False, "sushyVersion": sushy.__version__, "python": sys.executable}
    root = drive(args, result)
    if root is not None:
        # Only the requests session is kept: the connector and the auth object both lead
        # back to the root and would keep it alive.
        http = root._conn._session
        if args.end == "release":
            # Sushy.__del__ is its only logout, and the root sits in a reference cycle with
            # its auth object, so only the cycle collector gets there.
            alive = weakref.ref(root)
            del root
            gc.collect()
            result["released"] = alive() is None
        result["tokenHeldAtEnd"] = "X-Auth-Token" in http.headers
    # Held until exit on purpose with --end exit, to see whether interpreter shutdown logs out.
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

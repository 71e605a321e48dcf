"""App code imports only the tenant kernel of `clinics`, never the platform.

The kernel is what a clinic's code runs inside: the current clinic and its clock
(`clinics.context`), the middleware, the models and the formatting helpers. The platform
(`clinics.platform`: provisioning, demo data, export and import, the console, the per-clinic
dispatcher) works on clinics from outside and may import any app. Tests and management
commands are edges and may use the platform."""

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings

KERNEL = {"clinics.apps", "clinics.context", "clinics.context_processors", "clinics.formatting",
          "clinics.middleware", "clinics.models", "clinics.templatetags"}
EDGES = {"tests", "migrations", "management"}


def clinics_imports(source: str) -> set[str]:
    """Every `clinics…` module the source imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            if node.module == "clinics":  # `from clinics import platform` names a module
                found.update(f"clinics.{alias.name}" for alias in node.names)
    return {name for name in found if name == "clinics" or name.startswith("clinics.")}


def forbidden(names: set[str]) -> set[str]:
    allowed = {"clinics"} | KERNEL
    return {name for name in names
            if name not in allowed and not any(name.startswith(f"{kernel}.") for kernel in KERNEL)}


def app_modules() -> list[Path]:
    """The Python files of every project app (the kernel's own files included), edges left out."""
    root = Path(settings.BASE_DIR).resolve()
    files = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if root not in path.parents:
            continue
        for file in path.rglob("*.py"):
            parts = set(file.relative_to(path).parts[:-1])
            if parts & EDGES or (config.name == "clinics" and "platform" in parts):
                continue
            files.append(file)
    return files


def test_the_rule_catches_a_platform_import():
    source = ("from clinics.platform.provisioning import clinic_create\n"
              "def f():\n    import clinics.platform.demo\n"
              "from clinics import platform\n"
              "from clinics.context import current_clinic\nfrom clinics.templatetags import clinic_time\n")
    assert forbidden(clinics_imports(source)) == {"clinics.platform.provisioning", "clinics.platform.demo",
                                                  "clinics.platform"}


def test_app_code_imports_only_the_kernel():
    files = {Path(file).relative_to(settings.BASE_DIR).as_posix(): file for file in app_modules()}
    names = set(files)
    # The scan reaches the apps, the kernel and the split modules, and leaves the platform out.
    assert {"appointments/api/bookings.py", "frontdesk/checkout_views.py", "clinics/context.py",
            "checkout/services.py"} <= names
    assert not any(name.startswith("clinics/platform/") for name in names)
    offenders = {name: sorted(bad) for name, file in files.items()
                 if (bad := forbidden(clinics_imports(file.read_text(encoding="utf-8"))))}
    assert offenders == {}

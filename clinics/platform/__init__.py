"""The platform: what works on clinics from outside them. Provisioning and the template schema,
the demo clinic, export and import of a clinic, suspension, the operators' console and the
per-clinic task dispatcher. It may import any app; app code imports only the tenant kernel
(`clinics.context`, `clinics.middleware`, `clinics.models`, `clinics.formatting`), never this
package (`clinics/tests/test_kernel_imports.py` holds the rule)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names components after their full class path, so that each API's nested
    InputSerializer/OutputSerializer gets its own component (MemberListApiInputSerializer…)."""

    def get_serializer_name(self, serializer, direction):
        return type(serializer).__qualname__.replace(".", "")

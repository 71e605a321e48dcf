"""What every write endpoint's input serializer shares: fields the endpoint does not know are
refused (400, `validation_error`, the error on each unknown field's name) instead of being
silently ignored, so a misspelt field never looks saved."""

from collections.abc import Mapping

from django.utils.translation import gettext as _
from rest_framework import serializers

# Sent by browsers with a session's form posts, not a field of any endpoint.
IGNORED = frozenset({"csrfmiddlewaretoken"})


class RefuseUnknownFields:
    """Mix into a serializer before its DRF base: `class InputSerializer(RefuseUnknownFields,
    serializers.Serializer)`. Read-only fields (an `id` sent back) are known, and ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields and name not in IGNORED)
            if unknown:
                raise serializers.ValidationError({name: [_("This field does not exist here.")] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(RefuseUnknownFields, serializers.Serializer):
    pass


class StrictModelSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    pass

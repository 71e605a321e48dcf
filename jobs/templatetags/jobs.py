from django import template

from jobs import labels

register = template.Library()


@register.filter
def job_label(job: str) -> str:
    return labels.job_label(job)


@register.filter
def counts_label(counts: dict[str, int]) -> str:
    return labels.counts_label(counts)

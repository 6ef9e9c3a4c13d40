from mfa_app.tenants import get_tenant_model


def tenant_named_after_email_domain(user):
    domain = user.email.rpartition("@")[2]
    return get_tenant_model().objects.filter(name=domain).first()

"""Digital badges for Open edX: award Credly and Accredible badges from platform events."""

# The Zmanim AMI: Ubuntu 24.04 arm64 with PostgreSQL 16 + PostGIS + pg_cron, Redis 7, the Go API, restic,
# AWS CLI v2 and the CloudWatch agent, everything configured and enabled but not started (docs/on-box-layout.md).
# Build, publish and roll back: docs/runbooks/ami-update.md.
#
#   cd packer && packer init . && packer build -var-file=prod.pkrvars.hcl \
#     -var api_binary=/path/to/zmanim-api -var api_version=v1.4.0 -var ami_version=v2026.11.1 \
#     -var git_sha=$(git rev-parse HEAD) .

packer {
  required_version = "~> 1.11"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
  }
}

locals {
  # Packer's clock, not a variable: the name stays unique even when a version is rebuilt.
  build_time = formatdate("YYYYMMDDhhmmss", timestamp())
  ami_name   = "zmanim-${var.environment}-${var.ami_version}-${local.build_time}"
  staging    = "/tmp/zmanim"
  manifest   = "${path.root}/manifest-${var.environment}.json"
}

# The newest Canonical Ubuntu 24.04 arm64 image; owners pins Canonical's account so no look-alike matches.
data "amazon-ami" "ubuntu_noble_arm64" {
  region = var.region
  filters = {
    name                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*"
    architecture        = "arm64"
    root-device-type    = "ebs"
    virtualization-type = "hvm"
  }
  owners      = ["099720109477"]
  most_recent = true
}

source "amazon-ebs" "zmanim" {
  region        = var.region
  source_ami    = data.amazon-ami.ubuntu_noble_arm64.id
  instance_type = var.build_instance_type
  subnet_id     = var.build_subnet_id != "" ? var.build_subnet_id : null
  associate_public_ip_address = true
  # The temporary security group admits SSH only from the address Packer runs on.
  temporary_security_group_source_public_ip = true
  ssh_username  = "ubuntu"
  ami_name      = local.ami_name
  ami_description = "Zmanim ${var.environment} ${var.ami_version} (api ${var.api_version}, git ${var.git_sha})"
  ami_virtualization_type = "hvm"
  encrypt_boot  = true
  ena_support   = true

  # IMDSv2 only, on the build instance and on instances launched from the AMI.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = 10
    volume_type           = "gp3"
    encrypted             = true
    delete_on_termination = true
  }

  tags = {
    Name        = local.ami_name
    Project     = "zmanim"
    Environment = var.environment
    Version     = var.ami_version
    ApiVersion  = var.api_version
    GitSha      = var.git_sha
    BaseAmi     = "{{ .SourceAMI }}"
    BaseAmiName = "{{ .SourceAMIName }}"
  }
  snapshot_tags = {
    Name        = local.ami_name
    Project     = "zmanim"
    Environment = var.environment
    Version     = var.ami_version
    GitSha      = var.git_sha
  }
  run_tags = {
    Name    = "packer-${local.ami_name}"
    Project = "zmanim"
  }
}

build {
  name    = "zmanim"
  sources = ["source.amazon-ebs.zmanim"]

  # 1. Uploads: the on-box files, the backup and migration scripts, the API binary (the template never builds Go).
  provisioner "shell" {
    inline = ["rm -rf ${local.staging}", "mkdir -p ${local.staging}/scripts/lib"]
  }
  provisioner "file" {
    source      = "${path.root}/files"
    destination = "${local.staging}/"
  }
  provisioner "file" {
    sources = [
      "${path.root}/../scripts/box/backup.sh",
      "${path.root}/../scripts/box/restore.sh",
      "${path.root}/../scripts/box/restore-drill.sh",
      "${path.root}/../scripts/box/notify-failure.sh",
    ]
    destination = "${local.staging}/scripts/"
  }
  provisioner "file" {
    source      = "${path.root}/../scripts/box/lib/common.sh"
    destination = "${local.staging}/scripts/lib/common.sh"
  }
  # The migration tools (cutover and rollback runbooks): migrate-db with its SQL and endpoint checklist.
  provisioner "file" {
    sources = [
      "${path.root}/../scripts/box/migrate-db",
      "${path.root}/../scripts/box/smoke-test-api.sh",
    ]
    destination = "${local.staging}/scripts/"
  }
  provisioner "file" {
    source      = "${path.root}/../scripts/box/migrate"
    destination = "${local.staging}/scripts/"
  }
  provisioner "file" {
    source      = var.api_binary
    destination = "${local.staging}/zmanim-api"
  }

  # 2. Provisioning, then 3. the smoke test; a failure in either stops the build before the AMI is created.
  provisioner "shell" {
    execute_command = "sudo env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "ZMANIM_STAGING=${local.staging}",
      "ZMANIM_API_VERSION=${var.api_version}",
      "APT_SNAPSHOT=${var.apt_snapshot}",
      "APT_PACKAGES=${join(" ", var.apt_packages)}",
      "RESTIC_VERSION=${var.restic_version}",
      "RESTIC_SHA256=${var.restic_sha256}",
      "AWSCLI_VERSION=${var.awscli_version}",
      "AWSCLI_KEY_FINGERPRINT=${var.awscli_key_fingerprint}",
      "CWAGENT_VERSION=${var.cwagent_version}",
      "CWAGENT_KEY_FINGERPRINT=${var.cwagent_key_fingerprint}",
      "CWAGENT_REGION=${var.region}",
    ]
    scripts = [
      "${path.root}/scripts/provision.sh",
      "${path.root}/scripts/smoke-test.sh",
    ]
  }

  # 4. Clean up the uploads and the build instance's identity before the image is taken.
  provisioner "shell" {
    execute_command = "sudo env {{ .Vars }} bash '{{ .Path }}'"
    inline = [
      "rm -rf ${local.staging}",
      "cloud-init clean --logs --machine-id",
      "rm -f /home/ubuntu/.ssh/authorized_keys /root/.ssh/authorized_keys",
    ]
  }

  # 5. Record what was built, then publish its id. Post-processors run only after every provisioner,
  #    the smoke test included, succeeded and the AMI exists.
  post-processors {
    post-processor "manifest" {
      output     = local.manifest
      strip_path = true
      custom_data = {
        environment = var.environment
        ami_version = var.ami_version
        api_version = var.api_version
        git_sha     = var.git_sha
      }
    }
    post-processor "shell-local" {
      environment_vars = [
        "ZMANIM_ENV=${var.environment}",
        "MANIFEST_PATH=${local.manifest}",
        "AWS_REGION=${var.region}",
      ]
      script = "${path.root}/scripts/publish-ami-id.sh"
    }
  }
}

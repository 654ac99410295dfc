#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from './config';
import { STACK_NAME, TransferStack } from './stack';

const app = new App();
// Environment-agnostic: deploy with the CLI's account and region; the one-machine host needs neither.
new TransferStack(app, STACK_NAME, { config: configFromContext((key) => app.node.tryGetContext(key)) });
// Any unacknowledged AwsSolutions finding stops the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

// The sampler for each engine the health panels support.
import type { Engine } from '../../shared/profile';
import { mongoSampler } from './mongo-sampler';
import { mysqlSampler } from './mysql-sampler';
import { postgresSampler } from './postgres-sampler';
import type { SamplerFactory } from './sampler';

export const samplers: Partial<Record<Engine, SamplerFactory>> = {
  postgres: postgresSampler,
  mysql: mysqlSampler,
  mongodb: mongoSampler,
};

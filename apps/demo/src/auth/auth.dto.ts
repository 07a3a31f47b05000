import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class LoginDto {
  @ApiProperty({ description: 'The code from wx.login(): valid 5 minutes, single use' })
  @IsString()
  @Length(1, 128)
  code!: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'Send as Authorization: Bearer <token>' })
  token!: string;

  @ApiProperty({ description: 'Seconds until the token expires' })
  expiresIn!: number;
}
